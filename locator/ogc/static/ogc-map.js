// Draws the small map of an OGC API page: the GeoJSON at data-src, or the box in data-bbox.
// No geo logic here: the server selected the features; this only fetches and draws.
(function () {
  'use strict';
  var element = document.querySelector('.ogc-map');
  if (!element || !window.L) { return; }
  var map = L.map(element, { scrollWheelZoom: false });
  L.tileLayer(element.dataset.tiles, {
    attribution: element.dataset.attribution, maxZoom: 18, referrerPolicy: 'strict-origin'
  }).addTo(map);
  map.fitBounds([[47.27, 8.97], [50.57, 13.84]]);  // Bavaria until the data is there
  if (element.dataset.bbox) {
    var b = element.dataset.bbox.split(',').map(Number);
    var box = L.rectangle([[b[1], b[0]], [b[3], b[2]]], { weight: 2, fill: false }).addTo(map);
    map.fitBounds(box.getBounds());
  }
  if (element.dataset.src) {
    fetch(element.dataset.src, { headers: { Accept: 'application/geo+json' } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (geojson) {
        var layer = L.geoJSON(geojson, {
          pointToLayer: function (feature, latlng) {
            return L.circleMarker(latlng, { radius: 6, weight: 2, fillOpacity: 0.8 });
          },
          onEachFeature: function (feature, drawn) {
            var name = (feature.properties && feature.properties.name) || feature.id;
            drawn.bindTooltip(String(name));
          },
          style: { weight: 1.5, fillOpacity: 0.15 }
        }).addTo(map);
        if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), { maxZoom: 12 }); }
        element.setAttribute('data-drawn', String(layer.getLayers().length));
      })
      .catch(function () { element.setAttribute('data-drawn', 'error'); });
  }
}());
