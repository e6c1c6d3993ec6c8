/* KoKi widget: one office's card (result list, responsible box, map popup), contact first.
 * The same fields, order and wording as the server-rendered card (templates/widget_office.html).
 * Everything it shows comes from the API: the hours as a plain week computed by the service
 * (opening_hours_week), the phone as a tel: URI; only "open now" is read from the clock here,
 * in Bavarian time. Loaded before widget.js, which calls KokiOffice.card(). */
(function () {
  'use strict';

  var DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  var clock = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Berlin', weekday: 'short', year: 'numeric', month: '2-digit',
    day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'
  });

  function short(time) { return time.charAt(0) === '0' ? time.slice(1) : time; }

  // "Mo–Do 8:00–12:00": one line per run of weekdays with the same hours.
  function hoursInWords(week, names) {
    var lines = [];
    var same = function (a, b) { return JSON.stringify(week[a]) === JSON.stringify(week[b]); };
    for (var day = 0; day < 7;) {
      var last = day;
      while (last + 1 < 7 && same(last + 1, day)) { last += 1; }
      if (week[day].length) {
        lines.push((last === day ? names[day] : names[day] + '–' + names[last]) + ' ' +
          week[day].map(function (i) { return short(i[0]) + '–' + short(i[1]); }).join(', '));
      }
      day = last + 1;
    }
    return lines;
  }

  // true / false, or null when it cannot be said (no regular week, or a holiday today).
  function openNow(p, now) {
    if (!p.opening_hours_week) { return null; }
    var parts = {};
    clock.formatToParts(now || new Date()).forEach(function (part) { parts[part.type] = part.value; });
    if ((p.opening_hours_exceptions || []).indexOf(parts.year + '-' + parts.month + '-' + parts.day) >= 0) {
      return null;
    }
    var time = parts.hour + ':' + parts.minute;
    return p.opening_hours_week[DAYS.indexOf(parts.weekday)].some(function (interval) {
      return interval[0] <= time && time < interval[1];
    });
  }

  function levelNote(p, T) {
    if (p.contact_level === 'jugendamt') { return T.contact_via_jugendamt; }
    if (p.contact_level === 'verwaltung') {
      return p.district_type === 'Landkreis' ? T.contact_via_landratsamt : T.contact_via_city;
    }
    return null;
  }

  function card(feature, opts, h) {
    var p = feature.properties, T = h.T, el = h.el, link = h.link;
    var known = p.phone || p.email || p.website || p.street || p.opening_hours;
    var items = [];
    if (p.phone) { items.push(el('li', {}, [T.phone + ': ', link(p.phone_uri || 'tel:' + p.phone.replace(/[^+0-9]/g, ''), p.phone)])); }
    if (p.email) { items.push(el('li', {}, [T.email + ': ', link('mailto:' + p.email, p.email)])); }
    if (p.website) { items.push(el('li', {}, [link(p.website, T.website, true)])); }
    var place = [p.postcode, p.city].filter(Boolean).join(' ');
    var address = p.street
      ? el('p', { 'class': 'office__address' }, [el('span', { 'class': 'office__label', text: T.address + ':' }), ' ' + p.street + ', ' + place])
      : p.city ? el('p', { 'class': 'office__address' }, [el('span', { 'class': 'office__label', text: T.place + ':' }), ' ' + place]) : null;
    var hours = null;
    if (p.opening_hours) {
      var open = openNow(p);
      var lines = p.opening_hours_week ? hoursInWords(p.opening_hours_week, T.weekdays.split(' ')) : [p.opening_hours];
      hours = el('div', { 'class': 'office__hours' }, [
        el('span', { 'class': 'office__label', text: T.opening_hours + ':' }), ' ',
        open === null ? null : el('strong', { 'class': 'office__open' + (open ? ' is-open' : ' is-closed'),
          text: open ? T.open_now : T.closed_now }),
        el('ul', { 'class': 'office__hours-list' }, lines.map(function (line) { return el('li', { text: line }); })),
        p.opening_hours_exceptions && p.opening_hours_exceptions.length ? el('p', { 'class': 'office__hint', text: T.hours_holidays }) : null
      ]);
    }
    var note = levelNote(p, T);
    var stand = null;
    if (p.sources && p.sources.length) {
      var month = p.checked_on ? p.checked_on.slice(5, 7) + '/' + p.checked_on.slice(0, 4) : '';
      var refs = [];
      p.sources.forEach(function (url, i) {
        refs.push(i ? ', ' : '', link(url, p.sources.length > 1 ? T.source + ' ' + (i + 1) : T.source, true));
      });
      stand = el('p', { 'class': 'office__stand' }, [month ? h.t('as_of', { date: month }) + ' · ' : ''].concat(refs));
    }
    var point = p.street || p.postcode ? [p.street, place].filter(Boolean).join(', ') : null;
    var geo = 'geo:' + p.lat + ',' + p.lon + '?q=' + (point ? encodeURIComponent(point)
      : p.lat + ',' + p.lon + '(' + encodeURIComponent(p.district_name || p.name) + ')');
    var osm = p.street
      ? 'https://www.openstreetmap.org/directions?to=' + encodeURIComponent(point)
      : 'https://www.openstreetmap.org/directions?route=%3B' + p.lat + '%2C' + p.lon;
    return [
      el(opts.heading || 'p', { 'class': 'office__title', text: p.district_name || p.name }),
      opts.compact ? null : el('p', { 'class': 'office__name', text: p.name }),
      opts.responsible ? el('p', { 'class': 'office__badge' }, [
        el('span', { 'aria-hidden': 'true', text: '★ ' }), T.responsible_heading]) : null,
      typeof opts.distance === 'number' ? el('p', { 'class': 'office__distance',
        text: h.t('distance_away', { distance: h.distance(opts.distance) }) }) : null,
      known && note ? el('p', { 'class': 'office__level', text: note }) : null,
      items.length ? el('ul', { 'class': 'office__contact' }, items) : null,
      address,
      hours,
      stand,
      known ? null : el('p', { 'class': 'office__note', text: T.contact_missing }),
      p.location_precision === 'place' && opts.popup ? el('p', { 'class': 'office__note', text: T.location_approx }) : null,
      p.location_precision === 'postcode' && opts.popup ? el('p', { 'class': 'office__note', text: T.location_postcode }) : null,
      el('p', { 'class': 'office__directions' }, [link(geo, T.directions_app), ' ', link(osm, T.directions_osm, true)])
    ];
  }

  window.KokiOffice = { card: card, openNow: openNow, hoursInWords: hoursInWords };
}());
