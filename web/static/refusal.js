// Brings a refusal shown on a page into view and gives it the focus: a
// form far down a long page (a late step, a ticket) is answered with the
// whole page again, which the browser shows from the top, and the reason
// would sit out of sight. A script file: the pages' CSP allows no inline
// script.
document.addEventListener('DOMContentLoaded', () => {
  const alert = document.querySelector('[role=alert]');
  if (!alert) return;
  if (!alert.hasAttribute('tabindex')) alert.setAttribute('tabindex', '-1');
  alert.scrollIntoView({ block: 'center' });
  alert.focus({ preventScroll: true });
});
