// Keyboard: "/" focuses search, arrows (or j/k) move through rows, Enter opens, Esc closes.

function typingIn(target) {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
}

/**
 * @param {{focusSearch: () => void, move: (delta: number) => void, open: () => void, escape: () => boolean}} actions
 *   `escape` returns true when it closed something.
 */
export function installKeyboard(actions) {
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === 'Escape') {
      if (typingIn(e.target)) {
        e.target.blur();
        return;
      }
      if (actions.escape()) e.preventDefault();
      return;
    }
    if (typingIn(e.target)) return;
    // Buttons, links and <summary> keep their own Enter.
    const onControl = e.target instanceof HTMLElement && e.target.closest('button, a, summary');
    // Inside the side panel, arrows scroll the panel as usual.
    const inPanel = e.target instanceof HTMLElement && e.target.closest('.panel');
    if (inPanel && e.key !== '/') return;
    switch (e.key) {
      case '/':
        e.preventDefault();
        actions.focusSearch();
        break;
      case 'ArrowDown':
      case 'j':
        e.preventDefault();
        actions.move(1);
        break;
      case 'ArrowUp':
      case 'k':
        e.preventDefault();
        actions.move(-1);
        break;
      case 'Enter':
        if (onControl) return;
        e.preventDefault();
        actions.open();
        break;
      default:
    }
  });
}
