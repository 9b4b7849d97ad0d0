/*
 * Map of the offers and needs (exchange/listing_map.html). The page already lists, server-side, exactly the
 * features the map shows; this script fetches the same GeoJSON (RFC 7946: [longitude, latitude]) and draws
 * one marker per place, whose popup links to every listing there. Configuration comes from the JSON block
 * #listing-map-config. No inline script, style or handler (strict CSP).
 */
(function () {
  "use strict";

  function popupContent(features) {
    var list = document.createElement("ul");
    list.className = "map-popup";
    features.forEach(function (feature) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = feature.properties.url;
      link.textContent = feature.properties.title;
      item.appendChild(link);
      item.appendChild(
        document.createTextNode(" — " + feature.properties.label + ", " + feature.properties.structure)
      );
      list.appendChild(item);
    });
    return list;
  }

  function setup(container) {
    var config = JSON.parse(document.getElementById("listing-map-config").textContent);
    var section = document.querySelector("[data-listing-map-section]");
    var status = document.querySelector("[data-listing-map-status]");
    section.hidden = false;

    var map = L.map(container, { maxZoom: 18, minZoom: 2 });
    L.tileLayer(config.tilesUrl, { attribution: config.attribution, maxZoom: 18 }).addTo(map);
    var extent = config.extent;
    map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]], { padding: [24, 24], maxZoom: 12 });

    fetch(config.geojsonUrl, { headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (collection) {
        // Listings of the same structure share its point: one marker per place.
        var places = {};
        collection.features.forEach(function (feature) {
          var key = feature.geometry.coordinates.join(",");
          (places[key] = places[key] || []).push(feature);
        });
        Object.keys(places).forEach(function (key) {
          var features = places[key];
          var coordinates = features[0].geometry.coordinates;
          var title = features.length > 1
            ? features.length + "\u00a0annonces : " + features[0].properties.structure
            : features[0].properties.title;
          var marker = L.marker([coordinates[1], coordinates[0]], {
            icon: L.divIcon({ className: "map-point", iconSize: [18, 18] }),
            title: title,
          });
          marker.bindPopup(function () {
            return popupContent(features);
          });
          marker.addTo(map);
        });
      })
      .catch(function () {
        status.textContent = "La carte n'a pas pu être chargée : la liste ci-dessous reste à jour.";
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.querySelector("[data-listing-map]");
    if (container && window.L) {
      setup(container);
    }
  });
})();
