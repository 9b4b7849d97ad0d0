/*
 * Map of the agenda ("Carte" view): fetches the events of the page's filters as GeoJSON and draws one
 * marker per place (a number when several events share it); its popup lists them. The list under the map,
 * rendered by the server from the same query, stays the accessible view of the same events.
 * Configuration comes from the JSON block #agenda-map-config. No inline script, style or handler (strict CSP).
 */
(function () {
  "use strict";

  function plural(count, singular, pluralForm) {
    return count + "\u00a0" + (count > 1 ? pluralForm : singular);
  }

  function eventLine(feature) {
    var item = document.createElement("li");
    var link = document.createElement("a");
    link.href = feature.properties.url;
    link.textContent = feature.properties.title;
    item.appendChild(link);
    var details = " — " + feature.properties.when;
    if (feature.properties.cancelled) {
      details += " (annulé)";
    }
    item.appendChild(document.createTextNode(details));
    return item;
  }

  function popupContent(place, features) {
    var wrapper = document.createElement("div");
    wrapper.className = "map-popup";
    if (place) {
      var title = document.createElement("p");
      title.className = "map-popup__place";
      title.textContent = place;
      wrapper.appendChild(title);
    }
    var list = document.createElement("ul");
    features.forEach(function (feature) {
      list.appendChild(eventLine(feature));
    });
    wrapper.appendChild(list);
    return wrapper;
  }

  function setup(container) {
    var config = JSON.parse(document.getElementById("agenda-map-config").textContent);
    var section = document.querySelector("[data-agenda-map-section]");
    var status = document.querySelector("[data-agenda-map-status]");
    section.hidden = false;

    var map = L.map(container, { maxZoom: 18, minZoom: 2 });
    L.tileLayer(config.tilesUrl, { attribution: config.attribution, maxZoom: 18 }).addTo(map);
    var extent = config.extent;
    map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]]);

    fetch(config.geojsonUrl, { headers: { Accept: "application/geo+json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (collection) {
        // Events at the same place share one marker: separate markers would hide each other.
        var places = {};
        var order = [];
        collection.features.forEach(function (feature) {
          var key = feature.geometry.coordinates.join(",");
          if (!places[key]) {
            places[key] = [];
            order.push(key);
          }
          places[key].push(feature);
        });
        var bounds = [];
        order.forEach(function (key) {
          var features = places[key];
          var coordinates = features[0].geometry.coordinates;
          var latLng = [coordinates[1], coordinates[0]];
          var place = features[0].properties.place;
          var icon;
          var title;
          if (features.length > 1) {
            var label = document.createElement("span");
            label.textContent = String(features.length);
            icon = L.divIcon({ className: "map-cluster map-cluster--small", html: label, iconSize: [44, 44] });
            title = plural(features.length, "événement", "événements") + (place ? " à " + place : "");
          } else {
            icon = L.divIcon({ className: "map-point", iconSize: [18, 18] });
            title = features[0].properties.title + (place ? " (" + place + ")" : "");
          }
          var marker = L.marker(latLng, { icon: icon, title: title, alt: title });
          marker.bindPopup(function () {
            return popupContent(place, features);
          });
          marker.addTo(map);
          bounds.push(latLng);
        });
        // No animation: a marker moving under the pointer would swallow the click that opens its popup.
        if (bounds.length === 1) {
          map.setView(bounds[0], 12, { animate: false });
        } else if (bounds.length > 1) {
          map.fitBounds(bounds, { padding: [32, 32], maxZoom: 13, animate: false });
        }
        // Set once the view is final, so that a script (or a test) waiting on it finds the markers in place.
        container.setAttribute("data-markers", String(order.length));
      })
      .catch(function () {
        status.textContent = "La carte n'a pas pu être chargée : la liste ci-dessous reste à jour.";
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.querySelector("[data-agenda-map]");
    if (container && window.L) {
      setup(container);
    }
  });
})();
