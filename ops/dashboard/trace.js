/*
 * The trace tab: a search box over GET /trace/{seller,payout,order,ref}, and the page it opens (a
 * seller's cycle, a payout, an order) laid out as the five steps money takes: what came in, what
 * was booked, what the close made, how it was paid, and the findings and operator actions that
 * touch it. Amounts arrive as minor-unit strings and are shown with StsMoney; nothing here does
 * arithmetic on money. Every id on the page links to its own trace.
 */
(function () {
  'use strict';
  const $ = (sel) => document.querySelector(sel);
  const dash = () => window.StsDash;
  const esc = (v) => dash().esc(v);
  const money = (minor, currency) => (minor === null || minor === undefined ? '' : window.StsMoney.format(String(minor), currency || ''));
  const when = (iso) => (iso ? String(iso).replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '—');
  const link = (kind, id, extra, text) => '<a href="#" data-trace="' + esc([kind, id, extra && extra.region || '', extra && extra.cycle || ''].join('|')) + '">' + esc(text || id) + '</a>';
  const seller = (e) => link('seller', e.shopUserId, { region: e.region, cycle: e.cycleId }, e.shopUserId);
  const payout = (id) => link('payout', id, null, id);
  const order = (id) => (id ? link('order', id, null, id) : '—');

  /* What one entry says, as [what, amount, detail HTML]. Kinds are those of services/trace/trace-types.ts. */
  function describe(e) {
    switch (e.kind) {
      case 'ORDER_EVENT':
        return ['order event', '', 'order ' + order(e.orderId) + ' · event ' + esc(e.eventId) + ' · ' + (e.topic === null ? 'coordinates not recorded' : esc(e.topic + ' / partition ' + e.partition + ' @ offset ' + e.offset))];
      case 'UPLOAD_ROW':
        return ['upload row', '', 'upload ' + esc(e.uploadId || '—') + ' row ' + esc(e.rowNumber || '—') + (e.fileName ? ' of ' + esc(e.fileName) : '') + (e.uploadedBy ? ' by ' + esc(e.uploadedBy) : '') + ' · ref ' + esc(e.externalRef)];
      case 'ITEM':
        return [e.itemType.toLowerCase() + ' (' + e.source.toLowerCase() + ')', money(e.amountMinor, e.currency), 'item ' + esc(e.itemId) + ' · cycle ' + esc(e.cycleId) + (e.orderId ? ' · order ' + order(e.orderId) : '') + (e.late ? ' · <b>late</b>' : '') + (e.memo ? ' · ' + esc(e.memo) : '')];
      case 'COMMISSION_CHARGE':
        return ['commission charge', money(e.feeMinor, e.currency), 'rule ' + esc(e.ruleCategory) + ' v' + esc(e.ruleVersion) + ' · on ' + esc(money(e.orderAmountMinor, e.currency)) + ' · affiliate credit ' + esc(money(e.affiliateCreditMinor, e.currency)) + ' · order ' + order(e.orderId)];
      case 'COMMISSION_CLAWBACK':
        return ['commission clawback', money(e.feeClawbackMinor, e.currency), 'refund ' + esc(money(e.refundAmountMinor, e.currency)) + ' · rule v' + esc(e.ruleVersion === null ? '—' : e.ruleVersion) + ' · order ' + order(e.orderId)];
      case 'ACCOUNT':
        return ['account balance', money(e.balanceMinor, e.currency), esc(e.itemCount) + ' items · seller ' + seller(e) + ' · cycle ' + esc(e.cycleId)];
      case 'PAYOUT':
        return ['payout', money(e.amountMinor, e.currency), payout(e.payoutId) + ' · <span class="status-' + esc(e.status) + '">' + esc(e.status) + '</span> · rail ' + esc(e.rail) + (e.holdReason ? ' · hold ' + esc(e.holdReason) : '')];
      case 'CARRY_FORWARD':
        return ['carried forward', money(e.amountMinor, e.currency), 'cycle ' + esc(e.fromCycleId) + ' → ' + esc(e.toCycleId)];
      case 'SELLER_HOLD':
        return ['seller on hold', '', esc(e.reason)];
      case 'SUBMISSION':
        return ['sent for payment', '', 'payout ' + payout(e.payoutId) + ' · to ' + esc(e.payeeAccount) + ' · from ' + esc(e.sourceTopic + ' / ' + e.sourcePartition + ' @ ' + e.sourceOffset) + (e.escalationCode ? ' · escalated ' + esc(e.escalationCode) : '') + (e.blocked ? ' · <b>blocked</b>' : '')];
      case 'PAYOUT_RESULT':
        return ['payment result', '', '<span class="status-' + esc(e.status) + '">' + esc(e.status) + '</span> by ' + esc(e.rail) + ' after ' + esc(e.attempts) + ' attempt(s)' + (e.gatewayReference ? ' · reference ' + esc(e.gatewayReference) : '') + (e.failureCode ? ' · ' + esc(e.failureCode) : '') + (e.decidedAt ? ' · final ' + esc(when(e.decidedAt)) : '')];
      case 'TCC':
        return ['ledger transaction', money(e.amountMinor, e.currency), esc(e.txId) + ' · ' + esc(e.state)];
      case 'POSTING':
        return ['posting ' + e.phase.toLowerCase(), money(e.amountMinor, e.currency), esc(e.debitAccount) + ' → ' + esc(e.creditAccount)];
      case 'BANK_FILE':
        return ['bank file', money(e.ctrlSumMinor, e.currency), esc(e.msgId) + ' · ' + esc(e.status) + (e.bankStatus ? ' / bank ' + esc(e.bankStatus) : '') + ' · ' + esc(e.txCount) + ' payouts'];
      case 'BANK_REPORT':
        return ['bank report', '', esc(e.reportKind) + ' ' + esc(e.msgId) + (e.groupStatus ? ' · ' + esc(e.groupStatus) : '') + ' · ' + esc(e.fileName)];
      case 'BANK_DEBIT':
        return ['bank debit', money(e.amountMinor, e.currency), esc(e.endToEndId) + ' in ' + esc(e.reportMsgId) + (e.bookedOn ? ' · booked ' + esc(e.bookedOn) : '')];
      case 'BANK_REPORT_ISSUE':
        return ['bank report issue', '', esc(e.issueKind) + ': ' + esc(e.detail)];
      case 'PAYOUT_RETURN':
        return ['payout returned', money(e.amountMinor, e.currency), 'payout ' + payout(e.payoutId) + ' back into cycle ' + esc(e.cycleId)];
      case 'FINDING':
        return ['finding ' + e.rule, '', '<span class="status-' + esc(e.severity) + '">' + esc(e.severity) + '</span> ' + esc(e.entity) + ': ' + esc(e.detail) + (e.resolvedAt ? ' · resolved ' + esc(when(e.resolvedAt)) : '')];
      case 'AUDIT':
        return ['operator action', '', esc(e.actor) + ' · ' + esc(e.action) + (e.target ? ' ' + esc(e.target) : '') + (e.status ? ' → ' + esc(e.status) : '')];
      default:
        return [String(e.kind).toLowerCase(), '', esc(JSON.stringify(e))];
    }
  }

  /* The headline: whose money, which cycle, and what was paid. */
  function headline(t) {
    const s = t.subject;
    const payouts = (t.steps.find((x) => x.step === 'close') || { entries: [] }).entries.filter((e) => e.kind === 'PAYOUT');
    const accounts = s.accounts.map((a) => 'seller ' + seller(a) + ' · ' + esc(a.region) + ' · cycle ' + esc(a.cycleId)).join('<br>');
    const paid = payouts.map((p) => 'payout ' + payout(p.payoutId) + ' <b class="money">' + esc(money(p.amountMinor, p.currency)) + '</b> <span class="status-' + esc(p.status) + '">' + esc(p.status) + '</span> by ' + esc(p.rail)).join('<br>');
    return '<div class="card trace-head" data-subject="' + esc(s.kind + '|' + s.id) + '"><h2>' + esc(s.kind) + ' ' + esc(s.id) + (s.matchedAs && s.matchedAs !== s.kind ? ' <small>(matched as ' + esc(s.matchedAs) + ')</small>' : '') + '</h2>' +
      '<p>' + (accounts || 'no settlement account') + '</p><p>' + (paid || 'no payout') + '</p>' + (t.truncated ? '<p class="error">More items than the page lists; the account balance above is exact.</p>' : '') + '</div>';
  }

  function render(t) {
    const steps = t.steps.map((st, i) => {
      const rows = st.entries.map((e) => {
        const d = describe(e);
        return '<tr data-kind="' + esc(e.kind) + '"><td>' + esc(when(e.at)) + '</td><td>' + esc(d[0]) + '</td><td class="money">' + esc(d[1]) + '</td><td>' + d[2] + '</td></tr>';
      }).join('');
      return '<section class="trace-step" data-step="' + esc(st.step) + '"><h3>' + (i + 1) + '. ' + esc(st.title) + ' <small>(' + st.entries.length + ')</small></h3>' +
        (rows ? '<table><thead><tr><th>time</th><th>what</th><th>amount</th><th>detail</th></tr></thead><tbody>' + rows + '</tbody></table>' : '<p class="empty">nothing stored for this step</p>') + '</section>';
    }).join('');
    $('#trace-result').innerHTML = headline(t) + steps;
  }

  async function search(kind, id, region, cycle) {
    $('#trace-msg').textContent = 'searching…';
    const q = [];
    if (kind === 'seller' && region) q.push('region=' + encodeURIComponent(region));
    if (kind === 'seller' && cycle) q.push('cycle=' + encodeURIComponent(cycle));
    try {
      const t = await dash().api('GET', '/trace/' + kind + '/' + encodeURIComponent(id) + (q.length ? '?' + q.join('&') : ''));
      $('#trace-msg').textContent = '';
      render(t);
    } catch (err) {
      $('#trace-result').innerHTML = '';
      $('#trace-msg').textContent = 'not found: ' + err.message;
    }
  }

  function fromForm(e) {
    e.preventDefault();
    const id = $('#trace-id').value.trim();
    if (!id) return;
    search($('#trace-kind').value, id, $('#trace-region').value.trim().toUpperCase(), $('#trace-cycle').value.trim()).catch(console.error);
  }

  /* A link on the page opens that id's trace, with the form showing what was asked. */
  function follow(a) {
    const [kind, id, region, cycle] = a.dataset.trace.split('|');
    $('#trace-kind').value = kind;
    $('#trace-id').value = id;
    $('#trace-region').value = region || '';
    $('#trace-cycle').value = cycle || '';
    return search(kind, id, region, cycle);
  }

  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('[data-trace]');
    if (!a) return;
    e.preventDefault();
    follow(a).catch(console.error);
  });
  $('#trace-form').addEventListener('submit', fromForm);
  window.StsTrace = { refresh: () => Promise.resolve() };
})();
