/* Inline edit on list pages: a cell marked .crm-inline (a simple field the user may change)
   turns into a box or a list on click or Enter; Enter or Save sends the value with the
   record's version to the server, which changes the record through the record service.
   Escape or Cancel puts the cell back. A refusal is shown under the cell; when someone else
   changed the record meanwhile, the cell shows their value again (and its new version). */
(function () {
  'use strict';
  var cells = document.querySelectorAll('.crm-inline');
  if (!cells.length) { return; }

  function note(cell, kind, text) {
    var box = cell.parentNode.querySelector('.crm-inline-message');
    if (!box) {
      box = document.createElement('div');
      box.setAttribute('role', 'alert');
      cell.parentNode.appendChild(box);
    }
    box.className = 'crm-inline-message small text-' + kind;
    box.textContent = text || '';
  }

  function close(cell, html) {
    cell.innerHTML = html;
    cell.classList.remove('crm-inline-open');
    cell.setAttribute('tabindex', '0');
  }

  function open(cell) {
    if (cell.classList.contains('crm-inline-open')) { return; }
    var shown = cell.innerHTML;
    var box;
    if (cell.dataset.kind === 'select') {
      box = document.createElement('select');
      JSON.parse(cell.dataset.choices).forEach(function (choice) {
        var option = document.createElement('option');
        option.value = choice[0];
        option.textContent = choice[1];
        option.selected = choice[0] === cell.dataset.value;
        box.appendChild(option);
      });
    } else {
      box = document.createElement('input');
      box.type = cell.dataset.kind === 'date' ? 'date' : 'text';
      box.value = cell.dataset.value;
    }
    box.className = 'form-control form-control-sm crm-inline-box';
    box.setAttribute('aria-label', cell.getAttribute('aria-label'));
    var save = document.createElement('button');
    save.type = 'button';
    save.className = 'btn btn-sm btn-primary crm-inline-save';
    save.textContent = cell.dataset.save;
    var cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'btn btn-sm btn-outline-secondary crm-inline-cancel';
    cancel.textContent = cell.dataset.cancel;
    cell.classList.add('crm-inline-open');
    cell.removeAttribute('tabindex');
    cell.innerHTML = '';
    cell.appendChild(box);
    cell.appendChild(save);
    cell.appendChild(cancel);
    box.focus();

    function back() { close(cell, shown); cell.focus(); }
    function send() {
      var body = new FormData();
      body.append('csrf_token', cell.dataset.csrf);
      body.append('id', cell.dataset.id);
      body.append('field', cell.dataset.field);
      body.append('version', cell.dataset.version);
      body.append('value', box.value);
      save.disabled = true;
      fetch(cell.dataset.url, {method: 'POST', body: body, credentials: 'same-origin'})
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (answer.version) {
            // every cell of the row carries the record's version: all move on together
            cell.closest('tr').querySelectorAll('.crm-inline').forEach(function (other) {
              other.dataset.version = answer.version;
            });
          }
          if (answer.html !== undefined) {
            cell.dataset.value = answer.value;
            close(cell, answer.html);
          } else {
            back();
          }
          note(cell, answer.ok ? 'success' : 'danger', answer.ok ? '' : answer.message);
          cell.focus();
        })
        .catch(function () { save.disabled = false; });
    }
    save.addEventListener('click', function (event) { event.stopPropagation(); send(); });
    cancel.addEventListener('click', function (event) { event.stopPropagation(); back(); });
    box.addEventListener('click', function (event) { event.stopPropagation(); });
    box.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') { event.preventDefault(); send(); }
      if (event.key === 'Escape') { event.preventDefault(); back(); }
    });
  }

  cells.forEach(function (cell) {
    cell.addEventListener('click', function () { open(cell); });
    cell.addEventListener('keydown', function (event) {
      if ((event.key === 'Enter' || event.key === ' ') && event.target === cell) {
        event.preventDefault();
        open(cell);
      }
    });
  });
})();
