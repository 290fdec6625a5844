/*
 * The ops dashboard: plain browser JavaScript, served by the ops API with everything it needs
 * (uPlot included), so it works with no network beyond the API itself. Every call carries the
 * bearer token from this tab's sessionStorage; ids and amounts stay strings, as the API sends them,
 * and amounts are shown in major units by window.StsMoney (money.js), never through a Number.
 */
(function () {
  'use strict';
  const $ = (sel) => document.querySelector(sel);
  const state = { token: sessionStorage.getItem('sts-token') || '', tab: 'lag', timers: [], series: new Map(), charts: new Map() };

  async function api(method, url, body, raw) {
    const headers = { authorization: 'Bearer ' + state.token };
    let payload;
    if (body instanceof Blob) { headers['content-type'] = 'text/csv'; payload = body; }
    else if (body !== undefined) { headers['content-type'] = 'application/json'; payload = JSON.stringify(body); }
    const res = await fetch(url, { method, headers, body: payload });
    if (raw) return res;
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error((data && (data.message || data.error)) || res.statusText + ' (' + res.status + ')');
    return data;
  }

  const esc = (v) => String(v === null || v === undefined ? '' : v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const cell = (v, cls) => '<td' + (cls ? ' class="' + esc(cls) + '"' : '') + '>' + esc(v) + '</td>';
  const fmtSeconds = (s) => (s === null || s === undefined ? '—' : Number(s) < 90 ? Math.round(Number(s)) + ' s' : Math.round(Number(s) / 60) + ' min');

  async function login(token) {
    state.token = token;
    try {
      await api('GET', '/uploads');
      sessionStorage.setItem('sts-token', token);
      $('#login').hidden = true;
      $('#tabs').hidden = false;
      $('#app').hidden = false;
      $('#who').textContent = 'signed in';
      show(state.tab);
    } catch (e) {
      $('#login-error').textContent = 'Sign-in failed: ' + e.message;
      sessionStorage.removeItem('sts-token');
    }
  }

  function show(tab) {
    state.tab = tab;
    state.timers.forEach(clearInterval);
    state.timers = [];
    document.querySelectorAll('nav button').forEach((b) => b.classList.toggle('active', b.dataset.tab === tab));
    document.querySelectorAll('.tab').forEach((s) => (s.hidden = s.id !== 'tab-' + tab));
    // The trace tab (trace.js) shows what was searched and is not refreshed under the reader.
    if (tab === 'trace') return;
    const refresh = { lag: refreshLag, uploads: refreshUploads, cycles: refreshCycles, recon: refreshRecon, dlq: refreshDlq }[tab];
    refresh().catch(report);
    state.timers.push(setInterval(() => refresh().catch(report), tab === 'lag' || tab === 'uploads' ? 1000 : 5000));
  }

  function report(e) { console.error(e); }

  // What other dashboard files (trace.js) share: the token-carrying call and the escaping.
  window.StsDash = { api, esc, cell };

  /* The brokers under the lag: how many answer, which are down, how many partitions lack a copy. */
  function clusterLine(c) {
    if (!c) return '';
    if (c.error) return 'Kafka cluster: could not be read (' + c.error + ')';
    const down = c.down.length === 0 ? 'all up' : c.down.length + ' down (' + c.down.join(', ') + ')';
    return 'Kafka: ' + c.brokers.length + ' broker(s), ' + down + '; ' + c.underReplicated + ' partition(s) under-replicated' + (c.offline > 0 ? ', ' + c.offline + ' OFFLINE' : '');
  }

  /* "1,2,3", or "1,3 of 1,2,3" marked when a replica is out of sync. */
  function inSyncCell(p) {
    if (!p.isr) return cell('—');
    const short = p.isr.length < p.replicas.length;
    return cell(short ? p.isr.join(',') + ' of ' + p.replicas.join(',') : p.isr.join(','), short ? 'status-WARNING' : '');
  }

  /* Lag: a live chart per group (messages behind and seconds behind), and the partition table. */
  async function refreshLag() {
    const data = await api('GET', '/lag');
    const groups = data.groups || [];
    const rows = [];
    for (const g of groups) for (const p of g.partitions || []) rows.push(Object.assign({ group: g.group, topic: g.topic }, p));
    $('#lag-table tbody').innerHTML = rows.map((p) => '<tr>' + cell(p.group) + cell(p.topic) + cell(p.partition) + cell(p.lag) + cell(fmtSeconds(p.lagSeconds)) + cell(p.consumeRate === null || p.consumeRate === undefined ? '—' : Math.round(Number(p.consumeRate))) + cell(fmtSeconds(p.etaSeconds)) + cell(p.leader === undefined ? '—' : p.leader < 0 ? 'none' : p.leader, p.leader < 0 ? 'status-STOPPED' : '') + inSyncCell(p) + cell(p.status, 'status-' + p.status) + cell(p.owner || '—') + '</tr>').join('');
    $('#lag-cluster').textContent = clusterLine(data.cluster);
    const now = Date.now() / 1000;
    for (const g of groups) {
      const key = g.group + ' · ' + g.topic;
      const s = state.series.get(key) || [[], [], []];
      s[0].push(now); s[1].push(Number(g.lag || 0)); s[2].push(Number(g.lagSeconds || 0));
      if (s[0].length > 300) s.forEach((a) => a.shift());
      state.series.set(key, s);
      let box = document.querySelector('.chart[data-group="' + CSS.escape(key) + '"]');
      if (!box) {
        box = document.createElement('div');
        box.className = 'chart';
        box.dataset.group = key;
        box.innerHTML = '<h3>' + esc(key) + ' <span class="status"></span> <span class="eta"></span></h3>';
        $('#lag-charts').appendChild(box);
        state.charts.set(key, new uPlot({ width: 420, height: 160, series: [{}, { label: 'lag (messages)', stroke: '#2f6fed' }, { label: 'lag (s)', stroke: '#c0262d', scale: 's' }], axes: [{}, {}, { scale: 's', side: 1 }] }, s, box));
      } else state.charts.get(key).setData(s);
      box.dataset.lag = String(g.lag || 0);
      box.dataset.max = String(Math.max.apply(null, s[1]));
      box.querySelector('.status').textContent = g.status;
      box.querySelector('.status').className = 'status status-' + g.status;
      box.querySelector('.eta').textContent = 'lag ' + (g.lag || 0) + ', ' + fmtSeconds(g.lagSeconds) + ' behind, ETA ' + fmtSeconds(g.etaSeconds);
    }
  }

  /* Uploads: progress bars, counts and a rejects download; the form streams the file to POST /uploads. */
  async function refreshUploads() {
    const list = await api('GET', '/uploads');
    $('#uploads-table tbody').innerHTML = list.map((u) => {
      const total = Number(u.totalRows || 0);
      const done = Number(u.rowsDone || 0);
      const pct = total > 0 ? Math.floor((done * 100) / total) : 0;
      return '<tr data-upload="' + esc(u.id) + '">' + cell(u.id) + cell(u.fileName) + cell(u.status, 'status-' + u.status) +
        '<td><progress max="100" value="' + pct + '"></progress> <span class="pct">' + pct + '%</span></td>' +
        cell(u.acceptedRows) + cell(u.rejectedRows) + cell(u.duplicateRows) +
        '<td>' + (Number(u.rejectedRows) > 0 ? '<a href="#" data-rejects="' + esc(u.id) + '">rejects.csv</a>' : '') + heldActions(u) + '</td></tr>' + warningRow(u);
    }).join('');
  }

  /* An upload held by its checks: its warnings (money already formatted by the API) and the confirm and cancel buttons. */
  const HELD = 'AWAITING_CONFIRMATION';
  const heldActions = (u) => (u.status === HELD ? ' <button data-confirm-upload="' + esc(u.id) + '">Confirm…</button> <button data-cancel-upload="' + esc(u.id) + '">Cancel</button>' : '');
  const warningRow = (u) => ((u.warnings || []).length === 0 ? '' :
    '<tr class="upload-warnings" data-warnings="' + esc(u.id) + '"><td colspan="8">' + (u.confirmedBy ? 'confirmed by ' + esc(u.confirmedBy) + ': ' : 'held, nothing booked until confirmed: ') +
    '<ul>' + u.warnings.map((w) => '<li>' + esc(w.code) + ': ' + esc(w.message) + '</li>').join('') + '</ul></td></tr>');

  async function uploadAction(id, action) {
    const u = await api('GET', '/uploads/' + encodeURIComponent(id));
    const question = action === 'confirm'
      ? 'Book upload ' + id + ' despite:\n' + u.warnings.map((w) => '- ' + w.message).join('\n') + '\n\nYour confirmation is recorded in the audit log.'
      : 'Cancel upload ' + id + '? Nothing of it has been booked.';
    if (!window.confirm(question)) return;
    try {
      await api('POST', '/uploads/' + encodeURIComponent(id) + '/' + action);
      $('#upload-msg').textContent = 'upload ' + id + (action === 'confirm' ? ' confirmed' : ' cancelled');
    } catch (err) {
      $('#upload-msg').textContent = action + ' refused: ' + err.message;
    }
    refreshUploads().catch(report);
  }

  async function downloadRejects(id) {
    const res = await api('GET', '/uploads/' + encodeURIComponent(id) + '/rejects', undefined, true);
    const blob = await res.blob();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'upload-' + id + '-rejects.csv';
    a.click();
  }

  /* A cycle's payout total in its region's currency (a region settles in one). */
  const cycleTotal = (c) => window.StsMoney.format(c.payout_total_minor || '0', window.StsMoney.regionCurrency(c.region) || '');

  /* Cycles & payouts: close with confirmation, and each payout file's release and verify status. */
  async function refreshCycles() {
    const cycles = await api('GET', '/cycles');
    $('#cycles-table tbody').innerHTML = cycles.map((c) => '<tr data-cycle="' + esc(c.region + '/' + c.cycle_id) + '">' + cell(c.region) + cell(c.cycle_id) + cell(c.status, 'status-' + c.status) + cell(c.payouts || 0) + cell(cycleTotal(c), 'money') +
      '<td>' + (c.files || []).map((f) => '<span class="status-' + esc(f.status) + '">' + esc(f.currency + ' ' + f.status) + '</span> <a href="#" data-verify="' + esc(c.region + '|' + c.cycle_id + '|' + f.currency) + '">verify</a> <span class="verify"></span>').join('<br>') + '</td></tr>').join('');
  }

  /*
   * What the close would make (GET /cycles/:region/latest/preview, written by nothing), as lines
   * for the confirmation: per currency the payouts, totals and the last closed cycles, then what is
   * flagged. A preview that fails says so; the close itself then answers with its own reason.
   */
  async function closePreviewText(region, cutoff) {
    let p;
    try {
      p = await api('GET', '/cycles/' + encodeURIComponent(region) + '/latest/preview' + (cutoff ? '?cutoff=' + encodeURIComponent(cutoff) : ''));
    } catch (err) {
      return 'Preview unavailable: ' + err.message;
    }
    const money = window.StsMoney.format;
    const lines = ['Preview of cycle ' + p.cycleId + ' (' + p.cycleStatus + '):'];
    if (p.currencies.length === 0) lines.push('no payouts to make');
    for (const c of p.currencies) {
      const past = p.history.filter((h) => h.currency === c.currency).map((h) => money(h.totalMinor, c.currency));
      lines.push(c.currency + ': ' + c.payouts + ' payouts, total ' + money(c.totalMinor, c.currency) + ', average ' + money(c.averageMinor, c.currency) + (past.length ? ' (last closed cycles: ' + past.join(', ') + ')' : ''));
      lines.push('  pending ' + c.pending.count + ', on hold ' + c.onHold.count + ', carried forward ' + c.carriedForward.count + ' (' + money(c.carriedForward.totalMinor, c.currency) + ')');
    }
    const flagged = p.anomalies.map((a) => {
      if (a.kind === 'TOTAL_OUT_OF_RANGE') return a.currency + ' total ' + money(a.value, a.currency) + ' is far outside the last cycles (' + money(a.low, a.currency) + ' to ' + money(a.high, a.currency) + ')';
      if (a.kind === 'COUNT_OUT_OF_RANGE') return a.currency + ' payout count ' + a.value + ' is far outside the last cycles (' + a.low + ' to ' + a.high + ')';
      if (a.kind === 'SELLER_JUMP') return 'seller ' + a.shopUserId + ' gets ' + money(a.value, a.currency) + ', its largest before was ' + money(a.high, a.currency);
      return a.message;
    });
    if (p.moreSellerJumps > 0) flagged.push(p.moreSellerJumps + ' more sellers far above their previous payouts');
    lines.push(flagged.length ? 'Flagged:' : 'Nothing flagged.');
    for (const f of flagged) lines.push('  ! ' + f);
    return lines.join('\n');
  }

  async function closeCycle(e) {
    e.preventDefault();
    const region = $('#close-region').value;
    const cutoff = $('#close-cutoff').value.trim();
    $('#close-msg').textContent = 'previewing…';
    const preview = await closePreviewText(region, cutoff);
    $('#close-msg').textContent = '';
    if (!window.confirm('Close the ' + region + ' cycle' + (cutoff ? ' ending ' + cutoff : '') + '? Payouts will be created and the payout file released.\n\n' + preview)) return;
    $('#close-msg').textContent = 'closing…';
    try {
      const r = await api('POST', '/cycles/close', Object.assign({ region, drain: $('#close-drain').checked }, cutoff ? { cutoff } : {}));
      $('#close-msg').textContent = r.alreadyClosed ? 'cycle ' + r.cycleId + ' was already closed' : 'cycle ' + r.cycleId + ' closed: ' + r.payoutsCreated + ' payouts';
    } catch (err) {
      $('#close-msg').textContent = 'not closed: ' + err.message;
    }
    refreshCycles().catch(report);
  }

  async function verifyFile(link) {
    const [region, cycle, currency] = link.dataset.verify.split('|');
    const out = link.nextElementSibling;
    out.textContent = 'verifying…';
    const r = await api('GET', '/payout-files/verify?region=' + region + '&cycle=' + cycle + '&currency=' + currency);
    out.textContent = r.ok ? 'verify passed' : 'verify FAILED: ' + r.checks.filter((c) => !c.ok).map((c) => c.name).join(', ');
  }

  /* Reconciliation findings. */
  async function refreshRecon() {
    const data = await api('GET', '/recon/findings');
    const rows = Array.isArray(data) ? data : data.findings || [];
    $('#recon-table tbody').innerHTML = rows.map((f) => '<tr data-finding="' + esc(f.rule + '|' + f.entity) + '">' + cell(f.rule) + cell(f.severity, 'status-' + f.severity) + cell(f.entity) + cell(f.detail) + cell(f.first_seen || f.firstSeen) + cell(f.last_seen || f.lastSeen) +
      '<td>' + (f.fix ? '<button data-fix="' + esc(f.rule + '|' + f.entity) + '" title="' + esc(f.fix) + '">Fix</button>' : '') + '</td></tr>').join('');
  }

  /* DLQ: inspect and replay. */
  async function refreshDlq() {
    const topic = $('#dlq-topic').value.trim();
    const data = await api('GET', '/dlq' + (topic ? '?topic=' + encodeURIComponent(topic) : ''));
    const rows = Array.isArray(data) ? data : data.messages || [];
    $('#dlq-table tbody').innerHTML = rows.map((m) => {
      const at = m.dlq || { topic: m.dlqTopic, partition: m.partition, offset: m.offset };
      const orig = m.original || { topic: m.originalTopic, partition: m.originalPartition, offset: m.originalOffset };
      const err = m.error || { code: m.errorCode, message: m.errorMessage };
      return '<tr>' + cell(at.topic + '/' + at.partition + '@' + at.offset) + cell(orig.topic + '/' + orig.partition + '@' + orig.offset) + cell(err.code + ': ' + err.message) +
        '<td class="payload">' + esc(JSON.stringify(m.payload !== undefined ? m.payload : m.value)) + '</td>' +
        '<td><button data-replay="' + esc(at.topic + '|' + at.partition + '|' + at.offset) + '">Replay</button></td></tr>';
    }).join('');
  }

  async function replay(btn) {
    const [topic, partition, offset] = btn.dataset.replay.split('|');
    try {
      const r = await api('POST', '/dlq/replay', { topic, partition: Number(partition), offset });
      $('#dlq-msg').textContent = 'replayed: ' + JSON.stringify(r);
    } catch (e) {
      $('#dlq-msg').textContent = 'replay failed: ' + e.message;
    }
    refreshDlq().catch(report);
  }

  document.addEventListener('click', (e) => {
    const t = e.target;
    if (t.matches('nav button')) show(t.dataset.tab);
    else if (t.matches('[data-rejects]')) { e.preventDefault(); downloadRejects(t.dataset.rejects).catch(report); }
    else if (t.matches('[data-confirm-upload]')) uploadAction(t.dataset.confirmUpload, 'confirm').catch(report);
    else if (t.matches('[data-cancel-upload]')) uploadAction(t.dataset.cancelUpload, 'cancel').catch(report);
    else if (t.matches('[data-verify]')) { e.preventDefault(); verifyFile(t).catch(report); }
    else if (t.matches('[data-replay]')) replay(t).catch(report);
    else if (t.matches('[data-fix]')) {
      const [rule, entity] = t.dataset.fix.split('|');
      if (window.confirm('Apply the documented fix for ' + rule + ' on ' + entity + '?')) api('POST', '/recon/fix', { rule, entity }).then(() => refreshRecon()).catch((err) => ($('#recon-msg').textContent = 'fix refused: ' + err.message));
    }
    else if (t.matches('#recon-run')) api('POST', '/recon/run').then((r) => { $('#recon-msg').textContent = 'done'; refreshRecon(); return r; }).catch((err) => ($('#recon-msg').textContent = err.message));
  });
  $('#login-form').addEventListener('submit', (e) => { e.preventDefault(); login($('#token').value.trim()); });
  $('#close-form').addEventListener('submit', closeCycle);
  $('#upload-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = $('#upload-file').files[0];
    if (!file) return;
    $('#upload-msg').textContent = 'uploading…';
    try {
      const r = await api('POST', '/uploads?filename=' + encodeURIComponent(file.name), file);
      $('#upload-msg').textContent = 'upload ' + r.id + (r.existing ? ' (same file as before)' : r.status === HELD ? ' held: ' + r.warnings.length + ' warning(s) to confirm, nothing booked' : ' queued');
    } catch (err) {
      $('#upload-msg').textContent = 'refused: ' + err.message;
    }
    refreshUploads().catch(report);
  });
  if (state.token) login(state.token);
})();
