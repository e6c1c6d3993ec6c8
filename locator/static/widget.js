/* KoKi map widget. It fetches from this service's /api/v1 and draws: distances, radius
 * filtering and responsibility all come from the API, none is computed here. It stores
 * nothing (no cookies, no localStorage) and asks for the position only when "Near me" is
 * clicked, rounded to about 100 m before it leaves the browser. Works under a strict CSP:
 * no inline scripts, no inline styles, no eval; all markup is built with DOM methods. */
(function () {
  'use strict';

  var root = document.getElementById('koki-widget');
  if (!root) { return; }
  document.documentElement.classList.add('js');

  var cfg = JSON.parse(root.getAttribute('data-config'));
  var T = cfg.messages;
  var km = new Intl.NumberFormat(cfg.locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    form: $('koki-form'), input: $('koki-q'), listbox: $('koki-suggestions'),
    radius: $('koki-radius'), submit: $('koki-submit'), locate: $('koki-locate'),
    alert: $('koki-alert'), suggestStatus: $('koki-suggest-status'), status: $('koki-status'),
    panel: $('koki-results'), responsible: $('koki-responsible'), list: $('koki-result-list'),
    reset: $('koki-reset'), map: $('koki-map')
  };

  // --- small helpers ---------------------------------------------------------------------------

  function t(key, values) {
    return String(T[key]).replace(/\{(\w+)\}/g, function (m, name) {
      return values && values[name] !== undefined ? values[name] : m;
    });
  }
  function plural(key, count, values) {
    return t(key + (count === 1 ? '_one' : '_other'), Object.assign({ count: count }, values));
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (attrs[name] === null || attrs[name] === undefined || attrs[name] === false) { return; }
      if (name === 'text') { node.textContent = attrs[name]; } else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) { return; }
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function distance(value) { return km.format(value) + '\u00a0km'; }
  function joinNames(names) {
    if (names.length < 2) { return names.join(''); }
    return names.slice(0, -1).join(', ') + ' ' + T.and + ' ' + names[names.length - 1];
  }
  function hidden(text) { return el('span', { 'class': 'visually-hidden', text: text }); }

  function api(path, params, signal) {
    var query = params ? '?' + new URLSearchParams(params).toString() : '';
    return fetch(cfg.api + path + query, {
      headers: { Accept: 'application/json' }, credentials: 'omit', signal: signal
    }).then(function (response) {
      if (response.ok) { return response.json(); }
      return response.json().catch(function () { return {}; }).then(function (problem) {
        var error = new Error(problem.detail || response.statusText);
        error.status = response.status;
        throw error;
      });
    });
  }

  // --- messages: one polite live region for results, one alert for errors ----------------------

  function announce(text) { ui.status.textContent = text; }
  function showError(text) {
    ui.alert.textContent = text;
    ui.alert.classList.add('is-visible');
  }
  function clearError() {
    ui.alert.textContent = '';
    ui.alert.classList.remove('is-visible');
  }
  function setBusy(busy) {
    ui.panel.setAttribute('aria-busy', busy ? 'true' : 'false');
    ui.submit.disabled = busy;
    ui.locate.disabled = busy;
  }

  // --- office card: the same fields as the server-rendered list --------------------------------

  function link(href, text, external) {
    var attrs = { href: href };
    if (external) { attrs.target = '_blank'; attrs.rel = 'noopener noreferrer'; }
    return el('a', attrs, [text, external ? hidden(' ' + T.new_window) : null]);
  }

  function officeCard(feature, opts) {
    var p = feature.properties;
    var items = [];
    if (p.phone) { items.push(el('li', {}, [T.phone + ': ', link('tel:' + p.phone.replace(/[^+0-9]/g, ''), p.phone)])); }
    if (p.email) { items.push(el('li', {}, [T.email + ': ', link('mailto:' + p.email, p.email)])); }
    var address = null;
    if (p.street) {
      address = el('p', { 'class': 'office__address' }, [
        el('span', { 'class': 'office__label', text: T.address + ':' }),
        ' ' + p.street + ', ' + [p.postcode, p.city].filter(Boolean).join(' ')]);
    } else if (p.city) {
      address = el('p', { 'class': 'office__address' }, [
        el('span', { 'class': 'office__label', text: T.place + ':' }),
        ' ' + [p.postcode, p.city].filter(Boolean).join(' ')]);
    }
    var geo = 'geo:' + p.lat + ',' + p.lon + '?q=' + p.lat + ',' + p.lon +
      '(' + encodeURIComponent(p.district_name || p.name) + ')';
    var osm = 'https://www.openstreetmap.org/directions?route=%3B' + p.lat + '%2C' + p.lon;
    return [
      el(opts.heading || 'p', { 'class': 'office__title', text: p.district_name || p.name }),
      opts.compact ? null : el('p', { 'class': 'office__name', text: p.name }),
      opts.responsible ? el('p', { 'class': 'office__badge' }, [
        el('span', { 'aria-hidden': 'true', text: '★ ' }), T.responsible_heading]) : null,
      typeof opts.distance === 'number' ? el('p', { 'class': 'office__distance',
        text: t('distance_away', { distance: distance(opts.distance) }) }) : null,
      items.length ? el('ul', { 'class': 'office__contact' }, items) : null,
      address,
      p.street && (p.phone || p.email) ? null : el('p', { 'class': 'office__note', text: T.contact_missing }),
      p.location_precision === 'place' && opts.popup ? el('p', { 'class': 'office__note', text: T.location_approx }) : null,
      p.website ? el('p', { 'class': 'office__website' }, [link(p.website, T.website, true)]) : null,
      el('p', { 'class': 'office__directions' }, [link(geo, T.directions_app), ' ', link(osm, T.directions_osm, true)])
    ];
  }

  // --- the map -----------------------------------------------------------------------------------

  var map = null, cluster = null, overlay = null, groups = {};
  var markers = {};   // office id -> L.Marker
  var offices = {};   // office id -> GeoJSON feature
  var view = { results: {}, active: null };  // id -> {rank, distance, responsible}

  function pinIcon(id) {
    var info = view.results[id] || {};
    var p = offices[id].properties;
    var classes = 'koki-pin' + (info.rank ? ' koki-pin--result' : '') +
      (info.responsible ? ' koki-pin--responsible' : '') + (view.active === id ? ' is-active' : '');
    var label = (info.rank ? info.rank + '. ' : '') + (p.district_name || p.name) +
      (info.responsible ? ', ' + T.responsible_heading : '') +
      (typeof info.distance === 'number' ? ', ' + distance(info.distance) : '');
    var mark = info.rank ? String(info.rank) : (info.responsible ? '★' : '');
    var html = el('span', {}, [
      el('span', { 'class': 'koki-pin__mark', 'aria-hidden': 'true', text: mark }),
      info.rank && info.responsible ? el('span', { 'class': 'koki-pin__star', 'aria-hidden': 'true', text: '★' }) : null,
      hidden(label)]);
    return L.divIcon({ className: classes, html: html, iconSize: [30, 30], iconAnchor: [15, 15], popupAnchor: [0, -14] });
  }

  function clusterIcon(group) {
    var count = group.getChildCount();
    return L.divIcon({
      className: 'koki-cluster', iconSize: [40, 40],
      html: el('span', {}, [el('span', { 'class': 'koki-cluster__count', 'aria-hidden': 'true', 'data-count': count, text: String(count) }),
        hidden(t('cluster_label', { count: count }))])
    });
  }

  // A cluster among the results names the results it holds ("1+2"), so no number is hidden.
  function resultClusterIcon(group) {
    var children = group.getAllChildMarkers().sort(function (a, b) {
      return ((view.results[a.options.officeId] || {}).rank || 99) - ((view.results[b.options.officeId] || {}).rank || 99);
    });
    var infos = children.map(function (m) { return view.results[m.options.officeId] || {}; });
    var ranks = infos.map(function (i) { return i.rank; }).filter(Boolean).sort(function (a, b) { return a - b; });
    var responsible = infos.some(function (i) { return i.responsible; });
    if (!ranks.length) { return clusterIcon(group); }
    var text = ranks.join('+');
    var names = children.map(function (m) {
      var p = offices[m.options.officeId].properties;
      var info = view.results[m.options.officeId] || {};
      return (info.rank ? info.rank + '. ' : '') + (p.district_name || p.name);
    });
    return L.divIcon({
      className: 'koki-cluster koki-cluster--results' + (responsible ? ' koki-cluster--responsible' : ''),
      iconSize: [Math.max(40, 16 + 9 * text.length), 40],
      html: el('span', {}, [el('span', { 'class': 'koki-cluster__count', 'aria-hidden': 'true', 'data-count': children.length, text: text }),
        responsible ? el('span', { 'class': 'koki-pin__star', 'aria-hidden': 'true', text: '★' }) : null,
        hidden(joinNames(names) + (responsible ? ', ' + T.responsible_heading : '') + '. ' +
          t('cluster_label', { count: children.length }))])
    });
  }

  function initMap() {
    if (!window.L || !L.markerClusterGroup) { return; }
    var still = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    map = L.map(ui.map, {
      zoomControl: false, minZoom: 6, maxZoom: 18,
      zoomAnimation: !still, fadeAnimation: !still, markerZoomAnimation: !still
    });
    L.control.zoom({ zoomInTitle: T.zoom_in, zoomOutTitle: T.zoom_out }).addTo(map);
    map.attributionControl.setPrefix('<a href="https://leafletjs.com/">Leaflet</a>');
    map.attributionControl.addAttribution(cfg.postcode_attribution);
    var tiles = L.tileLayer(cfg.tiles.url, {
      attribution: cfg.tiles.attribution, maxZoom: 19,
      // Only our origin, never the page's path or query, travels to the tile server.
      referrerPolicy: 'strict-origin'
    });
    var notice = L.control({ position: 'topright' });
    notice.onAdd = function () { return el('div', { 'class': 'koki-tiles-notice', text: T.tiles_failed }); };
    tiles.once('tileerror', function () { notice.addTo(map); });
    tiles.on('tileload', function () { if (notice.getContainer()) { notice.remove(); } });
    tiles.addTo(map);
    map.fitBounds(cfg.bounds);
    // Overview: clustered generously. Results: only pins that would overlap (the many
    // Landkreis offices in their kreisfreie Stadt) form a cluster, so the numbers stay visible.
    // No cluster animations: they cost slow phones dearly, and motion helps nobody here.
    groups.overview = L.markerClusterGroup({
      showCoverageOnHover: false, maxClusterRadius: 45, iconCreateFunction: clusterIcon,
      animate: false
    });
    groups.results = L.markerClusterGroup({
      showCoverageOnHover: false, maxClusterRadius: 16, iconCreateFunction: resultClusterIcon,
      animate: false
    });
    cluster = groups.overview;
    map.addLayer(cluster);
    overlay = L.layerGroup().addTo(map);
    map.on('popupclose', function () { setActive(null); });
  }

  function makeMarker(feature) {
    var id = feature.id;
    var marker = L.marker([feature.properties.lat, feature.properties.lon], {
      icon: pinIcon(id), keyboard: true, riseOnHover: true, officeId: id
    });
    marker.bindPopup(function () { return popupContent(id); },
      { maxWidth: 280, autoPanPadding: [20, 20] });
    marker.on('mouseover', function () { setActive(id); });
    marker.on('click', function () { setActive(id, true); });
    marker.on('add', function () {
      var icon = marker.getElement();
      if (icon) {
        icon.setAttribute('data-office-id', id);
        icon.addEventListener('focus', function () { setActive(id); });
      }
    });
    return marker;
  }

  function drawMarkers(ids, mode) {
    if (!map) { return; }
    var next = groups[mode];
    cluster.clearLayers();
    if (next !== cluster) {
      map.removeLayer(cluster);
      cluster = next;
      map.addLayer(cluster);
    }
    cluster.addLayers(ids.filter(function (id) { return markers[id]; }).map(function (id) {
      markers[id].setIcon(pinIcon(id));
      return markers[id];
    }));
  }

  function setActive(id, fromMap) {
    var previous = view.active;
    view.active = id;
    [previous, id].forEach(function (which) {
      if (!which) { return; }
      var item = ui.list.querySelector('[data-office-id="' + which + '"]');
      if (item) { item.classList.toggle('is-active', which === id); }
      var icon = map && markers[which] && markers[which].getElement();
      if (icon) { icon.classList.toggle('is-active', which === id); }
      if (map && markers[which]) { markers[which].setZIndexOffset(which === id ? 1000 : 0); }
    });
    if (fromMap && id) {
      var item = ui.list.querySelector('[data-office-id="' + id + '"]');
      // Scroll the result list, not the page: only where the list scrolls on its own.
      if (item && ui.panel.scrollHeight > ui.panel.clientHeight + 1) {
        ui.panel.scrollTop = item.offsetTop - ui.panel.offsetTop - 8;
      }
    }
  }

  function popupContent(id) {
    var info = view.results[id] || {};
    return el('div', { 'class': 'office office--popup' }, officeCard(offices[id], {
      popup: true, distance: info.distance, responsible: info.responsible }));
  }

  function showOnMap(id) {
    if (!map) { return; }
    var marker = markers[id];
    var rect = ui.map.getBoundingClientRect();
    if (rect.top < 0 || rect.bottom > window.innerHeight) {
      ui.map.scrollIntoView({ block: 'nearest' });
    }
    // A popup of its own at the office rather than the marker's: the marker may sit in a
    // cluster (a Landkreis office often shares its kreisfreie Stadt's point).
    map.setView(marker.getLatLng(), Math.max(map.getZoom(), 11), { animate: false });
    L.popup({ maxWidth: 280, autoPanPadding: [20, 20], offset: [0, -10] })
      .setLatLng(marker.getLatLng()).setContent(popupContent(id)).openOn(map);
    setActive(id);
  }

  // --- results -----------------------------------------------------------------------------------

  function resultItem(feature, rank, info) {
    var id = feature.id;
    var button = el('button', { type: 'button', 'class': 'button button--small' },
      [T.show_on_map, hidden(': ' + (feature.properties.district_name || feature.properties.name))]);
    button.addEventListener('click', function () { showOnMap(id); });
    if (!map) { button.hidden = true; }
    var item = el('li', { 'class': 'result' + (info.responsible ? ' result--responsible' : ''),
      'data-office-id': id }, [
      rank ? el('span', { 'class': 'result__rank', 'aria-hidden': 'true', text: String(rank) }) : null,
      el('div', { 'class': 'office' }, officeCard(feature, {
        heading: 'h3', distance: info.distance, responsible: info.responsible, compact: true })),
      button
    ]);
    item.addEventListener('mouseenter', function () { setActive(id); });
    item.addEventListener('mouseleave', function () { if (view.active === id) { setActive(null); } });
    item.addEventListener('focusin', function () { setActive(id); });
    return item;
  }

  function renderResponsible(data, label, ctx) {
    var resp = data.responsible;
    var box = ui.responsible;
    clear(box);
    box.hidden = false;
    box.appendChild(el('h2', { id: 'koki-responsible-heading', text: T.responsible_heading }));
    var districts = resp.districts.map(function (d) { return d.name; });
    if (!resp.in_bavaria) {
      box.appendChild(el('p', { 'class': 'responsible__text',
        text: ctx.here ? T.not_in_bavaria_here : t('not_in_bavaria', { place: label }) }));
      return;
    }
    var alternatives = data.origin.alternatives || [];
    if (resp.ambiguous && alternatives.length) {
      // A place name of several places: the API lists them; the family picks one.
      box.appendChild(el('p', { 'class': 'responsible__text',
        text: t('ambiguous_place', { place: ctx.label || label, districts: joinNames(districts) }) }));
      renderAlternatives(box, alternatives, ctx);
    } else if (resp.ambiguous) {
      box.appendChild(el('p', { 'class': 'responsible__text', text: data.origin.postcode
        ? t('ambiguous', { postcode: data.origin.postcode, districts: joinNames(districts) })
        : joinNames(districts) + '. ' + T.ambiguous_no_pick }));
      if (data.origin.postcode) { renderPlacePicker(box, data.origin.postcode, ctx); }
    } else {
      box.appendChild(el('p', { 'class': 'responsible__text', text: ctx.here
        ? t('responsible_here', { districts: joinNames(districts) })
        : t('responsible_is', { place: label, districts: joinNames(districts) }) }));
    }
    var cards = el('ul', { 'class': 'responsible__offices' });
    resp.offices.features.forEach(function (feature) {
      cards.appendChild(el('li', { 'class': 'office', 'data-office-id': feature.id }, officeCard(feature, {
        heading: 'h3', distance: feature.properties.distance_km })));
    });
    box.appendChild(cards);
    var nearest = data.features.length ? data.features[0].properties.distance_km : null;
    var closest = Math.min.apply(null, resp.offices.features.map(function (f) { return f.properties.distance_km; }));
    if (nearest !== null && closest > nearest) {
      box.appendChild(el('p', { 'class': 'hint', text: T.responsible_not_nearest }));
    }
  }

  function renderPlacePicker(box, postcode, ctx) {
    var wrap = el('div', { 'class': 'picker', role: 'group', 'aria-labelledby': 'koki-picker-label' }, [
      el('p', { id: 'koki-picker-label', text: T.ambiguous_pick })]);
    box.appendChild(wrap);
    api('/postcodes/' + encodeURIComponent(postcode)).then(function (entry) {
      var names = entry.places.map(function (place) { return place.name; });
      var list = el('ul', { 'class': 'picker__places' });
      entry.places.forEach(function (place) {
        var label = postcode + ' ' + place.name;
        var unique = names.indexOf(place.name) === names.lastIndexOf(place.name);
        var button = el('button', { type: 'button', 'class': 'button button--small' }, [
          place.name, place.district_name ? ' (' + place.district_name + ')' : '']);
        button.addEventListener('click', function () {
          ui.input.value = label;
          search({ kind: ctx.kind, radius: ctx.radius, label: label,
            // The gazetteer resolves "<postcode> <place>" to that place and its district.
            params: unique ? { q: label } : { lat: place.lat, lon: place.lon } });
        });
        list.appendChild(el('li', {}, [button]));
      });
      wrap.appendChild(list);
    }).catch(function () { wrap.appendChild(el('p', { text: T.ambiguous_no_pick })); });
  }

  function renderAlternatives(box, alternatives, ctx) {
    var list = el('ul', { 'class': 'picker__places' });
    alternatives.forEach(function (place) {
      var button = el('button', { type: 'button', 'class': 'button button--small' }, [
        place.name, place.district_name ? ' (' + place.district_name + ')' : '']);
      button.addEventListener('click', function () {
        ui.input.value = place.label;
        // The label ("85276 Pfaffenhofen an der Ilm") resolves to this place alone.
        search({ kind: ctx.kind, radius: ctx.radius, label: place.label, params: { q: place.label } });
      });
      list.appendChild(el('li', {}, [button]));
    });
    box.appendChild(el('div', { 'class': 'picker', role: 'group', 'aria-labelledby': 'koki-picker-label' }, [
      el('p', { id: 'koki-picker-label', text: T.ambiguous_pick }), list]));
  }

  function render(data, ctx, fallback) {
    clearError();
    var label = data.origin.label || ctx.label || '';
    var features = fallback || data.features;
    view.results = {};
    var responsibleIds = data.responsible.offices.features.map(function (f) { return f.id; });
    features.forEach(function (f, i) {
      view.results[f.id] = { rank: i + 1, distance: f.properties.distance_km, responsible: f.properties.responsible };
    });
    data.responsible.offices.features.forEach(function (f) {
      if (!view.results[f.id]) {
        view.results[f.id] = { distance: f.properties.distance_km, responsible: true };
      }
    });

    renderResponsible(data, label, ctx);
    clear(ui.list);
    features.forEach(function (f, i) {
      ui.list.appendChild(resultItem(f, i + 1, view.results[f.id]));
    });
    ui.reset.hidden = false;

    var message;
    if (fallback) {
      message = t('no_results', { radius: ctx.radius, place: label,
        distance: fallback.length ? distance(fallback[0].properties.distance_km) : '' });
    } else if (ctx.kind === 'within') {
      message = plural('results_within', features.length, { radius: ctx.radius, place: label });
    } else {
      message = plural(ctx.here ? 'results_here' : 'results_nearest', features.length, { place: label });
    }
    var names = data.responsible.offices.features.map(function (f) {
      return f.properties.district_name + ' (' + distance(f.properties.distance_km) + ')';
    });
    if (data.responsible.ambiguous) {
      message += ' ' + (data.origin.alternatives ? T.ambiguous_place_announce : T.ambiguous_announce);
    } else if (names.length) {
      message += ' ' + t('responsible_announce', { names: joinNames(names) });
    }
    // A label may end in a full stop of its own ("84032 Landshut u. a.").
    announce(message.replace(/\.\.(\s|$)/g, '.$1'));
    drawSearch(data, ctx, features, responsibleIds, label);
    // On a phone the answer lands below the form: bring it into view (focus stays put).
    if (ui.panel.getBoundingClientRect().top > window.innerHeight - 120) {
      ui.panel.scrollIntoView({ block: 'start' });
    }
  }

  function drawSearch(data, ctx, features, responsibleIds, label) {
    if (!map) { return; }
    var ids = features.map(function (f) { return f.id; });
    responsibleIds.forEach(function (id) { if (ids.indexOf(id) < 0) { ids.push(id); } });
    ids = ids.filter(function (id) { return markers[id]; });  // none if /offices failed
    drawMarkers(ids, 'results');
    overlay.clearLayers();
    var origin = [data.origin.lat, data.origin.lon];
    var bounds = L.latLngBounds([origin]);
    if (ctx.kind === 'within') {
      var circle = L.circle(origin, { radius: ctx.radius * 1000, className: 'koki-radius', interactive: false });
      overlay.addLayer(circle);
      // The circle has no size until it is on the map: take its bounds from there.
      bounds.extend(circle.getBounds());
    }
    var originLabel = ctx.here ? T.your_location_marker : t('search_center', { place: label });
    overlay.addLayer(L.circleMarker(origin, { radius: 7, className: 'koki-origin', interactive: true })
      .bindTooltip(originLabel));
    ids.forEach(function (id) { bounds.extend(markers[id].getLatLng()); });
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 13 });
  }

  function resetView(announceIt) {
    view.results = {};
    view.active = null;
    clear(ui.list);
    clear(ui.responsible);
    ui.responsible.hidden = true;
    ui.reset.hidden = true;
    var ids = Object.keys(offices);
    if (announceIt) { announce(t('reset_done', { count: ids.length })); }
    if (!map) { return; }
    overlay.clearLayers();
    map.closePopup();
    drawMarkers(ids, 'overview');
    map.fitBounds(cfg.bounds);
  }

  // --- searching ---------------------------------------------------------------------------------

  var searchSeq = 0;

  function search(ctx) {
    var seq = ++searchSeq;
    clearError();
    setBusy(true);
    announce(T.searching);
    var limit = cfg.nearest_limit;
    var first = ctx.kind === 'within'
      ? api('/offices/within', Object.assign({ radius_km: ctx.radius }, ctx.params))
      : api('/offices/nearest', Object.assign({ limit: limit }, ctx.params));
    return first.then(function (data) {
      if (seq !== searchSeq) { return null; }
      if (ctx.kind === 'within' && !data.features.length) {
        // Nothing in the radius: show the nearest office anyway.
        return api('/offices/nearest', Object.assign({ limit: 1 }, ctx.params)).then(function (near) {
          if (seq === searchSeq) { render(data, ctx, near.features); }
        });
      }
      render(data, ctx, null);
      return null;
    }).catch(function (error) {
      if (seq !== searchSeq) { return; }
      resetView(false);
      var message = error.status === 404 ? t('error_not_found', { query: ctx.label || ui.input.value.trim() })
        : error.status === 400 ? T.error_invalid : T.error_api;
      announce('');
      showError(message);
    }).then(function () {
      if (seq === searchSeq) { setBusy(false); }
    });
  }

  ui.form.addEventListener('submit', function (event) {
    event.preventDefault();
    closeSuggestions();
    var text = ui.input.value.trim();
    if (!text) {
      showError(T.error_empty);
      ui.input.focus();
      return;
    }
    var picked = suggest.picked && suggest.picked.label === text ? suggest.picked : null;
    var params;
    if (picked && picked.kind === 'place') {
      params = { lat: picked.lat, lon: picked.lon };
    } else if (picked && picked.kind === 'postcode') {
      params = { postcode: picked.postcode };
    } else {
      params = { q: text };
    }
    search({ kind: 'within', radius: Number(ui.radius.value), params: params, label: text });
  });

  ui.locate.addEventListener('click', function () {
    clearError();
    if (!navigator.geolocation) { showError(T.geo_unsupported); return; }
    setBusy(true);
    announce(T.geo_asking);
    navigator.geolocation.getCurrentPosition(function (position) {
      // About 100 m: enough to find the office, too coarse to point at a house.
      var lat = (Math.round(position.coords.latitude * 1000) / 1000).toFixed(3);
      var lon = (Math.round(position.coords.longitude * 1000) / 1000).toFixed(3);
      search({ kind: 'nearest', params: { lat: lat, lon: lon }, here: true });
    }, function (error) {
      setBusy(false);
      announce('');
      showError(error.code === 1 ? T.geo_denied : (error.code === 2 || error.code === 3) ? T.geo_unavailable : T.geo_unsupported);
    }, { enableHighAccuracy: false, timeout: 20000, maximumAge: 600000 });
  });

  ui.reset.addEventListener('click', function () {
    resetView(true);
    ui.input.focus();
  });

  // --- suggestions: the ARIA 1.2 combobox with a listbox popup ----------------------------------

  var suggest = { items: [], active: -1, timer: null, controller: null, seq: 0, picked: null };

  function closeSuggestions() {
    clearTimeout(suggest.timer);
    if (suggest.controller) { suggest.controller.abort(); suggest.controller = null; }
    suggest.seq++;
    suggest.active = -1;
    ui.listbox.hidden = true;
    ui.input.setAttribute('aria-expanded', 'false');
    ui.input.removeAttribute('aria-activedescendant');
  }

  function renderSuggestions(items) {
    suggest.items = items;
    suggest.active = -1;
    clear(ui.listbox);
    items.forEach(function (item, i) {
      var detail = [item.district_name, item.in_bavaria ? null : T.outside_bavaria].filter(Boolean).join(', ');
      var option = el('li', { id: 'koki-option-' + i, role: 'option', 'aria-selected': 'false', 'class': 'suggestion' }, [
        el('span', { 'class': 'suggestion__label', text: item.label }),
        detail ? el('span', { 'class': 'suggestion__detail', text: ' – ' + detail }) : null]);
      // mousedown would move focus away from the input before the click lands.
      option.addEventListener('mousedown', function (event) { event.preventDefault(); });
      option.addEventListener('click', function () { choose(i); });
      ui.listbox.appendChild(option);
    });
    var open = items.length > 0;
    ui.listbox.hidden = !open;
    ui.input.setAttribute('aria-expanded', open ? 'true' : 'false');
    ui.input.removeAttribute('aria-activedescendant');
    ui.suggestStatus.textContent = open ? plural('suggestions', items.length) : T.suggestions_none;
  }

  function highlight(index) {
    var options = ui.listbox.querySelectorAll('[role="option"]');
    if (!options.length) { return; }
    suggest.active = (index + options.length) % options.length;
    options.forEach(function (option, i) {
      option.setAttribute('aria-selected', i === suggest.active ? 'true' : 'false');
    });
    var current = options[suggest.active];
    ui.input.setAttribute('aria-activedescendant', current.id);
    current.scrollIntoView({ block: 'nearest' });
  }

  function choose(index) {
    var item = suggest.items[index];
    if (!item) { return; }
    suggest.picked = item;
    ui.input.value = item.label;
    closeSuggestions();
    ui.input.focus();
  }

  function fetchSuggestions(text) {
    if (suggest.controller) { suggest.controller.abort(); }
    suggest.controller = window.AbortController ? new AbortController() : null;
    var seq = ++suggest.seq;
    api('/places', { q: text, limit: 8 }, suggest.controller && suggest.controller.signal).then(function (data) {
      if (seq === suggest.seq && document.activeElement === ui.input) { renderSuggestions(data.suggestions); }
    }).catch(function () {
      if (seq === suggest.seq) { closeSuggestions(); }
    });
  }

  ui.input.addEventListener('input', function () {
    suggest.picked = null;
    clearTimeout(suggest.timer);
    var text = ui.input.value.trim();
    if (text.length < 2) { closeSuggestions(); return; }
    suggest.timer = setTimeout(function () { fetchSuggestions(text); }, 250);
  });

  ui.input.addEventListener('keydown', function (event) {
    var open = !ui.listbox.hidden;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (!open) {
        if (suggest.items.length && ui.input.value.trim().length >= 2) { renderSuggestions(suggest.items); } else { return; }
      }
      event.preventDefault();
      highlight(suggest.active < 0 ? (event.key === 'ArrowDown' ? 0 : -1) : suggest.active + (event.key === 'ArrowDown' ? 1 : -1));
    } else if (event.key === 'Enter' && open && suggest.active >= 0) {
      event.preventDefault();
      choose(suggest.active);
    } else if (event.key === 'Escape') {
      if (open) { event.preventDefault(); closeSuggestions(); } else if (ui.input.value) { ui.input.value = ''; suggest.picked = null; }
    } else if (event.key === 'Tab' && open) {
      closeSuggestions();
    }
  });

  ui.input.addEventListener('blur', function () {
    setTimeout(function () { if (document.activeElement !== ui.input) { closeSuggestions(); } }, 150);
  });

  // --- start -------------------------------------------------------------------------------------

  initMap();
  api('/offices').then(function (collection) {
    collection.features.forEach(function (feature) {
      offices[feature.id] = feature;
      if (map) { markers[feature.id] = makeMarker(feature); }
    });
    if (map) { drawMarkers(Object.keys(offices), 'overview'); }
  }).catch(function () {
    showError(T.error_offices);
  });
}());
