/* The pipeline board: drag a card to another column, or pick "Move to…" on it (keyboard),
   to run the transition between the two states through the server, which checks roles,
   guards, required fields and inputs. Inputs are asked for in a dialog first. A refusal is
   shown with its reasons and the card stays where it was; a move reloads the board, so
   every count and amount is the server's. A long column loads its further cards as it is
   scrolled (or on "Show more"). */
(function () {
  'use strict';
  var page = document.querySelector('.crm-board-page');
  if (!page) { return; }
  var moves = JSON.parse(document.getElementById('crm-board-moves').textContent);
  var words = JSON.parse(document.getElementById('crm-board-words').textContent);
  var token = document.querySelector('#crm-board-token input[name=csrf_token]').value;
  var message = page.querySelector('.crm-board-message');
  var dialog = document.getElementById('crm-board-inputs');
  var dragged = null;

  function say(kind, text) {
    message.className = 'alert crm-board-message alert-' + kind;
    message.textContent = text;
  }

  var kept = sessionStorage.getItem('crm-board-said');
  if (kept) { sessionStorage.removeItem('crm-board-said'); say('success', kept); }

  function stateLabel(state) {
    var column = page.querySelector('.crm-board-column[data-state="' + state + '"] .crm-board-state');
    return column ? column.firstChild.textContent.trim() : state;
  }

  function send(card, move, values) {
    var body = new FormData();
    body.append('csrf_token', token);
    body.append('id', card.dataset.id);
    body.append('version', card.dataset.version);
    body.append('transition', move.name);
    Object.keys(values).forEach(function (key) { body.append(key, values[key]); });
    card.classList.add('crm-card-busy');
    fetch(page.dataset.moveUrl, {method: 'POST', body: body, credentials: 'same-origin'})
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        card.classList.remove('crm-card-busy');
        if (answer.ok) {
          sessionStorage.setItem('crm-board-said', words.moved.replace('{state}', stateLabel(answer.state)));
          location.reload();
        } else {
          say('danger', answer.reasons.join(' '));
          card.focus();
        }
      })
      .catch(function () { card.classList.remove('crm-card-busy'); say('danger', 'The server did not answer; try again.'); });
  }

  function field(input) {
    var id = 'crm-board-input-' + input.name;
    var wrap = document.createElement('div');
    wrap.className = 'form-group mb-2';
    var label = document.createElement('label');
    label.className = 'small mb-0';
    label.htmlFor = id;
    label.textContent = input.label + (input.required ? ' *' : '');
    var control;
    if (input.choices.length) {
      control = document.createElement('select');
      var blank = document.createElement('option');
      blank.value = '';
      blank.textContent = words.choose;
      control.appendChild(blank);
      input.choices.forEach(function (pair) {
        var option = document.createElement('option');
        option.value = pair[0];
        option.textContent = pair[1];
        control.appendChild(option);
      });
    } else if (input.type === 'text') {
      control = document.createElement('textarea');
      control.rows = 2;
    } else {
      control = document.createElement('input');
      if (input.type === 'date') { control.type = 'date'; }
    }
    control.className = 'form-control form-control-sm';
    control.id = id;
    control.name = 'input_' + input.name;
    wrap.appendChild(label);
    wrap.appendChild(control);
    return wrap;
  }

  function run(card, move) {
    if (!move.inputs.length) { send(card, move, {}); return; }
    var same = move.label.toLowerCase() === move.to_label.toLowerCase();
    dialog.querySelector('#crm-board-inputs-title').textContent = same ? move.label : move.label + ' → ' + move.to_label;
    var fields = dialog.querySelector('.crm-board-inputs-fields');
    fields.innerHTML = '';
    move.inputs.forEach(function (input) { fields.appendChild(field(input)); });
    dialog.querySelector('#crm-board-comment').value = '';
    dialog.onclose = function () {
      if (dialog.returnValue !== 'run') { card.focus(); return; }
      var values = {};
      fields.querySelectorAll('[name]').forEach(function (el) { values[el.name] = el.value; });
      var comment = dialog.querySelector('#crm-board-comment').value.trim();
      if (comment) { values.comment = comment; }
      send(card, move, values);
    };
    dialog.showModal();
  }

  function moveTo(card, state) {
    if (state === card.dataset.state) { return; }
    var found = (moves[card.dataset.state] || []).filter(function (m) { return m.to === state; });
    if (!found.length) {
      say('warning', words.no_move.replace('{from}', stateLabel(card.dataset.state)).replace('{to}', stateLabel(state)));
      return;
    }
    run(card, found[0]);
  }

  function bind(card) {
    card.addEventListener('dragstart', function (event) {
      dragged = card;
      event.dataTransfer.setData('text/plain', card.dataset.id);
      card.classList.add('crm-card-dragging');
    });
    card.addEventListener('dragend', function () { card.classList.remove('crm-card-dragging'); });
    var select = card.querySelector('.crm-card-move');
    if (select) {
      select.addEventListener('change', function () {
        var chosen = (moves[card.dataset.state] || []).filter(function (m) { return m.name === select.value; })[0];
        select.value = '';
        if (chosen) { run(card, chosen); }
      });
    }
  }

  /* A column past its first cards ends in "Show more": the next cards come from the server
     (same filters, same read scope) and take the button's place, with the next button when
     more remain. It loads on a click (or Enter) and when it scrolls into view. */
  var watcher = 'IntersectionObserver' in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) { if (entry.isIntersecting) { more(entry.target); } });
  }, {rootMargin: '200px'}) : null;

  function more(button) {
    if (button.dataset.loading) { return; }
    button.dataset.loading = '1';
    if (watcher) { watcher.unobserve(button); }
    fetch(button.dataset.cardsUrl, {credentials: 'same-origin'})
      .then(function (response) { if (!response.ok) { throw new Error(String(response.status)); } return response.text(); })
      .then(function (html) {
        var holder = document.createElement('div');
        holder.innerHTML = html;
        var focusNext = document.activeElement === button;
        var first = null;
        Array.prototype.slice.call(holder.children).forEach(function (el) {
          button.parentNode.insertBefore(el, button);
          if (el.classList.contains('crm-card')) { bind(el); first = first || el; }
          if (el.classList.contains('crm-board-more')) { watch(el); }
        });
        button.remove();
        if (focusNext && first) { first.focus(); }
      })
      .catch(function () { delete button.dataset.loading; say('danger', words.not_loaded); });
  }

  function watch(button) {
    button.addEventListener('click', function (event) { event.preventDefault(); more(button); });
    if (watcher) { watcher.observe(button); }
  }

  page.querySelectorAll('.crm-card').forEach(bind);
  page.querySelectorAll('.crm-board-more').forEach(watch);
  page.querySelectorAll('.crm-board-column').forEach(function (column) {
    column.addEventListener('dragover', function (event) { event.preventDefault(); column.classList.add('crm-board-over'); });
    column.addEventListener('dragleave', function () { column.classList.remove('crm-board-over'); });
    column.addEventListener('drop', function (event) {
      event.preventDefault();
      column.classList.remove('crm-board-over');
      if (dragged) { moveTo(dragged, column.dataset.state); dragged = null; }
    });
  });
})();
