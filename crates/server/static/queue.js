// The unit queue by keyboard: j / ↓ to the next row, k / ↑ to the previous one; the
// focus goes to the row's event link, and Tab then reaches the row's buttons.
(function () {
  var list = document.getElementById('queue');
  if (!list) return;
  var links = Array.prototype.slice.call(list.querySelectorAll('.queue-link'));
  document.addEventListener('keydown', function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var t = ev.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
    var step = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 }[ev.key];
    if (!step || links.length === 0) return;
    var row = t && t.closest ? t.closest('[data-row]') : null;
    var at = row ? links.indexOf(row.querySelector('.queue-link')) : -1;
    var next = at < 0 ? (step > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, at + step));
    ev.preventDefault();
    links[next].focus();
    links[next].scrollIntoView({ block: 'nearest' });
  });
})();
