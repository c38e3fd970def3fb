// The header's alert badge: how many alerts are open (GET /api/alerts/summary), refreshed every
// half minute and whenever an alert changes state. A server without alerting, or a role that may
// not read alerts, simply shows no number.

import { api } from './api.js';

const REFRESH_MS = 30_000;
const SEVERITIES = ['critical', 'high', 'medium', 'low'];

export class AlertBadge {
  /**
   * @param {HTMLAnchorElement} link the Alerts link in the header
   * @param {HTMLElement} badge the number inside it
   */
  constructor(link, badge) {
    this.link = link;
    this.badge = badge;
    this.timer = 0;
    this.inFlight = null;
  }

  start() {
    this.refresh();
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (document.visibilityState !== 'hidden') this.refresh();
    }, REFRESH_MS);
  }

  /** Ask the server again; concurrent calls share one request. */
  refresh() {
    this.inFlight ??= this.load().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  async load() {
    try {
      this.show(await api.alertSummary());
    } catch {
      this.show(null);
    }
  }

  show(summary) {
    const open = Number(summary?.open);
    if (!summary || !Number.isFinite(open)) {
      this.badge.hidden = true;
      delete this.badge.dataset.count;
      this.link.setAttribute('aria-label', 'Alerts');
      this.link.title = '';
      return;
    }
    const bySeverity = summary.open_by_severity && typeof summary.open_by_severity === 'object' ? summary.open_by_severity : {};
    const worst = SEVERITIES.find((s) => Number(bySeverity[s]) > 0) || 'none';
    this.badge.dataset.count = String(open);
    this.badge.dataset.severity = worst;
    this.badge.textContent = open > 99 ? '99+' : String(open);
    this.badge.hidden = open === 0;
    const acknowledged = Number(summary.acknowledged) || 0;
    this.link.setAttribute('aria-label', open ? `Alerts: ${open} open` : 'Alerts: none open');
    const parts = SEVERITIES.filter((s) => Number(bySeverity[s]) > 0).map((s) => `${bySeverity[s]} ${s}`);
    this.link.title = `${open} open${parts.length ? ` (${parts.join(', ')})` : ''}, ${acknowledged} acknowledged`;
  }
}
