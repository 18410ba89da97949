// The event list's select-all box for bulk actions, and the fields each action needs.
(function () {
  var all = document.getElementById('bulk-all');
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input.bulk-check[name="ids"]'));
  var count = document.getElementById('bulk-count');
  // The page gives the count text (with a {} for the number) in its own language.
  var some = (count && count.getAttribute('data-some')) || '{}';
  function update() {
    var n = boxes.filter(function (b) { return b.checked; }).length;
    if (count) count.textContent = some.replace('{}', n);
    if (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }
  if (all) {
    all.addEventListener('change', function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
      update();
    });
  }
  boxes.forEach(function (b) { b.addEventListener('change', update); });
  var action = document.getElementById('bulk-action');
  function fields() {
    var v = action ? action.value : '';
    document.querySelectorAll('[data-bulk-for]').forEach(function (el) {
      var on = el.getAttribute('data-bulk-for').split(' ').indexOf(v) >= 0;
      el.hidden = !on;
      el.querySelectorAll('select, input').forEach(function (i) { i.disabled = !on; });
    });
  }
  if (action) { action.addEventListener('change', fields); fields(); }
  update();
})();
