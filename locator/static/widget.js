/* KoKi map widget. It fetches from this service's /api/v1 and draws: distances, radius
 * filtering and responsibility all come from the API, none is computed here. It stores
 * nothing (no cookies, no localStorage) and asks for the position only when "Near me" is
 * clicked, rounded to about 100 m before it leaves the browser. A search by postcode or place
 * lives in the page's URL (?q= or ?postcode=, &radius_km=), so it can be shared and Back and
 * Forward move between searches; a position never goes into the URL or the history. Works
 * under a strict CSP: no inline scripts, no inline styles, no eval; all markup is built with
 * DOM methods. */
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
    reset: $('koki-reset'), map: $('koki-map'), heading: $('koki-results-heading')
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
  // The buttons stay enabled: disabling the one that has focus would drop focus to <body>
  // (a newer search simply replaces an older one, see searchSeq).
  function setBusy(busy) {
    ui.panel.setAttribute('aria-busy', busy ? 'true' : 'false');
  }
  // After a search, focus goes to its answer: the place choice when there is one, else the
  // results heading; the page scrolls only when the answer is out of view.
  function focusAnswer() {
    var target = ui.responsible.querySelector('.picker') || ui.heading;
    target.focus({ preventScroll: true });
    var top = ui.panel.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight - 120) { ui.panel.scrollIntoView({ block: 'start' }); }
  }

  // --- office card (office_card.js): the same fields as the server-rendered list ---------------

  function link(href, text, external) {
    var attrs = { href: href };
    if (external) { attrs.target = '_blank'; attrs.rel = 'noopener noreferrer'; }
    return el('a', attrs, [text, external ? hidden(' ' + T.new_window) : null]);
  }

  function officeCard(feature, opts) {
    return KokiOffice.card(feature, opts, { T: T, t: t, el: el, link: link, distance: distance });
  }

  // --- the map -----------------------------------------------------------------------------------

  var map = null, cluster = null, overlay = null, groups = {};
  var markers = {};   // office id -> L.Marker shown now (the overview's or the search's)
  var overviewMarkers = {};
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
    // Not a Leaflet control: controls sit above popups and would cover a popup's close button;
    // this note lies under the map's panes (widget.css), so markers and popups stay on top.
    var notice = el('div', { 'class': 'koki-tiles-notice', text: T.tiles_failed });
    tiles.once('tileerror', function () { ui.map.appendChild(notice); });
    tiles.on('tileload', function () { if (notice.parentNode) { notice.parentNode.removeChild(notice); } });
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
    map.on('popupclose', popupClosed);
    map.on('zoomstart', function () { zooming = true; });
    map.on('zoomend', function () { zooming = false; });
    document.addEventListener('keydown', function (event) {
      // Escape closes any popup, wherever focus is (the combobox keeps its own Escape).
      if (event.key !== 'Escape' || !popup.current || (event.target === ui.input && !ui.listbox.hidden)) { return; }
      event.preventDefault();
      popup.escaped = true;
      map.closePopup();
    }, true);  // before Leaflet's own Escape, which closes without giving focus back
  }

  // --- popups: sized to the map, and focus goes back where the popup came from ------------------

  var popup = { current: null, opener: null, id: null };
  var zooming = false;  // an animated zoom (after a search) is still running

  function popupOptions() {
    // Fits a 320 px high map: the content scrolls (Leaflet's maxHeight), and the padding keeps
    // it clear of the zoom buttons (top left) and the attribution (bottom).
    var size = map.getSize();
    return { maxWidth: Math.max(160, Math.min(280, size.x - 110)), minWidth: 120,
      maxHeight: Math.max(110, size.y - 120), autoPanPaddingTopLeft: [50, 10],
      autoPanPaddingBottomRight: [10, 28], offset: [0, -10] };
  }

  function openPopup(id, opener) {
    var layer = L.popup(popupOptions()).setLatLng(markers[id].getLatLng()).setContent(popupContent(id));
    layer.openOn(map);  // closes any other popup first (its popupclose comes before this)
    popup.current = layer;
    popup.opener = opener;
    popup.id = id;
    setActive(id);
  }

  function popupClosed(event) {
    setActive(null);
    if (event.popup !== popup.current) { return; }
    var opener = popup.opener, id = popup.id, escaped = popup.escaped;
    popup.current = popup.opener = popup.id = null;
    popup.escaped = false;
    // Focus was in the popup (its close button) or goes with it: back to its marker, or the
    // office's list item when the marker is hidden in a cluster now.
    var focus = document.activeElement;
    var inPopup = focus && event.popup.getElement() && event.popup.getElement().contains(focus);
    if (!escaped && focus && focus !== document.body && document.contains(focus) && !inPopup) { return; }
    var item = ui.list.querySelector('[data-office-id="' + id + '"] button');
    var target = opener && document.contains(opener) ? opener : item || ui.map;
    target.focus();
  }

  function makeMarker(feature) {
    var id = feature.id;
    var marker = L.marker([feature.properties.lat, feature.properties.lon], {
      icon: pinIcon(id), keyboard: true, riseOnHover: true, officeId: id
    });
    marker.on('mouseover', function () { setActive(id); });
    function open() {
      openPopup(id, marker.getElement());
      setActive(id, true);
    }
    marker.on('click', open);
    // The focused marker is a button (role="button"): Enter and Space open its popup.
    marker.on('keypress', function (event) {
      var key = event.originalEvent.key;
      if (key === 'Enter' || key === ' ') {
        event.originalEvent.preventDefault();
        open();
      }
    });
    marker.on('add', function () {
      var icon = marker.getElement();
      if (icon) {
        icon.setAttribute('data-office-id', id);
        icon.addEventListener('focus', function () { setActive(id); });
      }
    });
    return marker;
  }

  // The overview group holds every office's marker for good; a search gets markers of its own
  // in the results group. A marker moved between two cluster groups (or cleared out of one
  // off the map) kept a stale parent cluster and went missing: 91 of 96 after a search.
  function drawMarkers(ids, mode) {
    if (!map) { return; }
    var next = groups[mode];
    if (mode === 'overview') {
      markers = overviewMarkers;
    } else {
      next.clearLayers();
      markers = {};
      ids.forEach(function (id) { markers[id] = makeMarker(offices[id]); });
      next.addLayers(ids.map(function (id) { return markers[id]; }));
    }
    if (next !== cluster) {
      map.removeLayer(cluster);
      cluster = next;
      map.addLayer(cluster);
    }
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

  function showOnMap(id, button) {
    if (!map) { return; }
    var marker = markers[id];
    var rect = ui.map.getBoundingClientRect();
    if (rect.top < 0 || rect.bottom > window.innerHeight) {
      ui.map.scrollIntoView({ block: 'nearest' });
    }
    // The popup stands at the office, not on its marker: the marker may sit in a cluster (a
    // Landkreis office often shares its kreisfreie Stadt's point). A zoom still animating
    // would, when it ends, move the map back and the popup out of view: let it end first.
    var go = function () {
      map.setView(marker.getLatLng(), Math.max(map.getZoom(), 11), { animate: false });
      openPopup(id, button);
    };
    if (zooming) { map.once('zoomend', go); } else { go(); }
  }

  // --- results -----------------------------------------------------------------------------------

  function resultItem(feature, rank, info) {
    var id = feature.id;
    var button = el('button', { type: 'button', 'class': 'button button--small' },
      [T.show_on_map, hidden(': ' + (feature.properties.district_name || feature.properties.name))]);
    button.addEventListener('click', function () { showOnMap(id, button); });
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
    var wrap = el('div', { 'class': 'picker', role: 'group', 'aria-labelledby': 'koki-picker-label', tabindex: '-1' }, [
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
          search({ kind: ctx.kind, radius: ctx.radius, label: label, share: { q: label },
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
    box.appendChild(el('div', { 'class': 'picker', role: 'group', 'aria-labelledby': 'koki-picker-label', tabindex: '-1' }, [
      el('p', { id: 'koki-picker-label', text: T.ambiguous_pick }), list]));
  }

  function render(data, ctx, fallback) {
    clearError();
    var label = ctx.here ? T.here_place : data.origin.label || ctx.label || '';
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
    focusAnswer();
  }

  function drawSearch(data, ctx, features, responsibleIds, label) {
    if (!map) { return; }
    var ids = features.map(function (f) { return f.id; });
    responsibleIds.forEach(function (id) { if (ids.indexOf(id) < 0) { ids.push(id); } });
    ids = ids.filter(function (id) { return offices[id]; });  // none if /offices failed
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
    // Without animation, like the clusters: a group switched while a zoom still animates
    // (a quick second search, "show all") lost markers when the zoom ended.
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 13, animate: false });
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
    map.fitBounds(cfg.bounds, { animate: false });
  }

  // --- searching ---------------------------------------------------------------------------------

  var searchSeq = 0;

  function search(ctx) {
    var seq = ++searchSeq;
    if (!ctx.fromHistory) {
      // What the URL holds: the search's text or postcode, never a position (lat/lon).
      var share = ctx.share || (ctx.params.q ? { q: ctx.params.q }
        : ctx.params.postcode ? { postcode: ctx.params.postcode } : { q: ctx.label });
      remember(ctx.here ? null : Object.assign({}, share, { radius_km: ctx.radius }), ctx.here ? 'here' : 'search');
    }
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
      ui.input.focus();
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
    var params, share;
    if (picked && picked.kind === 'place') {
      params = { lat: picked.lat, lon: picked.lon };
      share = { q: text };  // a place's name, never a position, goes into the URL
    } else if (picked && picked.kind === 'postcode') {
      params = share = { postcode: picked.postcode };
    } else {
      params = share = { q: text };
    }
    search({ kind: 'within', radius: Number(ui.radius.value), params: params, label: text, share: share });
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
      // The chosen radius counts here too; with none inside it, the nearest is shown.
      search({ kind: 'within', radius: Number(ui.radius.value), params: { lat: lat, lon: lon }, here: true });
    }, function (error) {
      setBusy(false);
      announce('');
      showError(error.code === 1 ? T.geo_denied : (error.code === 2 || error.code === 3) ? T.geo_unavailable : T.geo_unsupported);
    }, { enableHighAccuracy: false, timeout: 20000, maximumAge: 600000 });
  });

  ui.reset.addEventListener('click', function () {
    searchSeq++;
    remember(null, 'all');
    resetView(true);
    ui.input.focus();
  });

  // --- the search in the URL: shareable, Back and Forward ------------------------------------------

  var KEEP = ['lang', 'embed'];  // the page's own settings, kept in every URL

  function urlFor(share) {
    var current = new URLSearchParams(window.location.search);
    var params = new URLSearchParams();
    Object.keys(share || {}).forEach(function (name) { params.set(name, share[name]); });
    KEEP.forEach(function (name) { if (current.has(name)) { params.set(name, current.get(name)); } });
    var query = params.toString();
    return window.location.pathname + (query ? '?' + query : '');
  }

  // A new history entry per search; "Near me" and "show all" get one without any position in
  // it, so Back still leads to the search before. The same search again replaces its entry.
  function remember(share, kind) {
    var url = urlFor(share);
    var before = (history.state && history.state.koki) || (window.location.search ? 'search' : 'all');
    var state = { koki: kind };
    if (url === window.location.pathname + window.location.search && before === kind) {
      history.replaceState(state, '', url);
    } else {
      history.pushState(state, '', url);
    }
    shown = entryKey();
  }
  function entryKey() {
    var kind = (history.state && history.state.koki) || (window.location.search ? 'search' : 'all');
    return window.location.search + '|' + kind;
  }
  var shown = entryKey();

  function defaultRadius() {
    var option = Array.prototype.filter.call(ui.radius.options, function (o) { return o.defaultSelected; })[0];
    return option ? option.value : ui.radius.value;
  }

  // Runs the search the URL describes (a shared link, Back, Forward), or shows all offices.
  function searchFromUrl() {
    shown = entryKey();
    var params = new URLSearchParams(window.location.search);
    var q = (params.get('q') || '').trim().slice(0, 100);
    var postcode = (params.get('postcode') || '').trim().slice(0, 10);
    var radius = params.get('radius_km');
    var known = Array.prototype.some.call(ui.radius.options, function (o) { return o.value === radius; });
    ui.radius.value = known ? radius : defaultRadius();
    closeSuggestions();
    suggest.picked = null;
    if (!q && !postcode) {
      searchSeq++;  // an answer still on its way is for another entry
      setBusy(false);
      ui.input.value = '';
      clearError();
      if (Object.keys(view.results).length) { resetView(true); }
      return;
    }
    ui.input.value = q || postcode;
    search({ kind: 'within', radius: Number(ui.radius.value), label: q || postcode,
      params: q ? { q: q } : { postcode: postcode }, fromHistory: true });
  }

  window.addEventListener('popstate', function (event) {
    // A skip link's #fragment makes a history entry too (without state): not another search.
    if (!event.state && window.location.hash) { return; }
    if (entryKey() !== shown) { searchFromUrl(); }
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
  var shared = new URLSearchParams(window.location.search);
  api('/offices').then(function (collection) {
    collection.features.forEach(function (feature) {
      offices[feature.id] = feature;
      if (map) { overviewMarkers[feature.id] = makeMarker(feature); }
    });
    if (map) {
      groups.overview.addLayers(Object.keys(offices).map(function (id) { return overviewMarkers[id]; }));
      drawMarkers(Object.keys(offices), 'overview');
    }
  }).catch(function () {
    showError(T.error_offices);
  }).then(function () {
    // A shared link's search runs once the offices are on the map, so it draws over them.
    if (shared.get('q') || shared.get('postcode')) { searchFromUrl(); }
  });
}());
