/* flask-admin's form.js hands select2 the literal text 'data-placeholder' as the placeholder
   of every reference picker (it means to read the attribute). Read the attribute instead,
   so an empty picker says "Search or choose…" in the user's language. Loaded after select2
   and before form.js. */
(function ($) {
  if (!$ || !$.fn || !$.fn.select2) { return; }
  var original = $.fn.select2;
  $.fn.select2 = function (options) {
    if (options && options.placeholder === 'data-placeholder') {
      options.placeholder = this.attr('data-placeholder') || '';
    }
    return original.apply(this, arguments);
  };
  $.extend($.fn.select2, original);
})(window.jQuery);
