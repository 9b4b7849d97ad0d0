/*
 * Public map of the structures (the "Carte" page). The server clusters (clusters.geojson): this script
 * draws what it returns as markers and as an accessible list of exactly the same features, and keeps the
 * filters and viewport (lat, lon, z) in the URL. Configuration comes from the JSON block #map-config.
 * No inline script, style or handler (strict CSP).
 */
(function () {
  "use strict";

  var VIEWPORT_KEYS = ["lat", "lon", "z"];

  function formatCoordinate(value, positive, negative) {
    return Math.abs(value).toFixed(3).replace(".", ",") + "\u00a0°\u00a0" + (value >= 0 ? positive : negative);
  }

  function placeLabel(feature) {
    if (feature.properties.commune) {
      return feature.properties.commune;
    }
    var coordinates = feature.geometry.coordinates;
    return formatCoordinate(coordinates[1], "N", "S") + ", " + formatCoordinate(coordinates[0], "E", "O");
  }

  function plural(count, singular, pluralForm) {
    return count + "\u00a0" + (count > 1 ? pluralForm : singular);
  }

  function setup(container) {
    var config = JSON.parse(document.getElementById("map-config").textContent);
    var section = document.querySelector("[data-map-section]");
    var list = document.querySelector("[data-map-list]");
    var status = document.querySelector("[data-map-status]");
    var form = document.querySelector("[data-map-filters]");
    var listHeading = document.getElementById("liste-titre");
    section.hidden = false;

    var map = L.map(container, { maxZoom: 18, minZoom: 2, worldCopyJump: false });
    L.tileLayer(config.tilesUrl, { attribution: config.attribution, maxZoom: 18 }).addTo(map);
    var markers = L.layerGroup().addTo(map);
    var controller = null;
    var focusListAfterLoad = false;

    // Hidden fields keep the viewport when the filters are submitted (the page reloads with them).
    var hidden = {};
    VIEWPORT_KEYS.forEach(function (key) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = key;
      form.appendChild(input);
      hidden[key] = input;
    });

    function filterParams() {
      var params = new URLSearchParams(window.location.search);
      VIEWPORT_KEYS.forEach(function (key) {
        params.delete(key);
      });
      return params;
    }

    function zoomTo(feature) {
      var bbox = feature.bbox;
      if (bbox && (bbox[0] !== bbox[2] || bbox[1] !== bbox[3])) {
        map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]], { padding: [24, 24] });
      } else {
        var coordinates = feature.geometry.coordinates;
        map.setView([coordinates[1], coordinates[0]], Math.min(map.getZoom() + 3, map.getMaxZoom()));
      }
    }

    function detailUrl(slug) {
      return config.detailUrl.replace("__slug__", encodeURIComponent(slug));
    }

    function popupContent(feature) {
      var wrapper = document.createElement("p");
      wrapper.className = "map-popup";
      var link = document.createElement("a");
      link.href = detailUrl(feature.properties.slug);
      link.textContent = feature.properties.name;
      wrapper.appendChild(link);
      if (feature.properties.commune) {
        wrapper.appendChild(document.createTextNode(" (" + feature.properties.commune + ")"));
      }
      return wrapper;
    }

    function clusterSize(count) {
      if (count >= 1000) {
        return "map-cluster--large";
      }
      return count >= 50 ? "map-cluster--medium" : "map-cluster--small";
    }

    function drawMarker(feature) {
      var coordinates = feature.geometry.coordinates;
      var latLng = [coordinates[1], coordinates[0]];
      var count = feature.properties.count;
      var marker;
      if (count > 1) {
        var label = document.createElement("span");
        label.textContent = String(count);
        marker = L.marker(latLng, {
          icon: L.divIcon({ className: "map-cluster " + clusterSize(count), html: label, iconSize: [44, 44] }),
          title: plural(count, "structure", "structures") + " autour de " + placeLabel(feature) + " : zoomer",
        });
        marker.on("click", function () {
          zoomTo(feature);
        });
      } else {
        marker = L.marker(latLng, {
          icon: L.divIcon({ className: "map-point", iconSize: [18, 18] }),
          title: feature.properties.name,
        });
        marker.bindPopup(function () {
          return popupContent(feature);
        });
      }
      markers.addLayer(marker);
    }

    function listItem(feature) {
      var item = document.createElement("li");
      var count = feature.properties.count;
      if (count > 1) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "map-list__cluster secondary outline";
        button.textContent = plural(count, "structure", "structures") + " autour de " + placeLabel(feature);
        button.addEventListener("click", function () {
          focusListAfterLoad = true;
          zoomTo(feature);
        });
        item.appendChild(button);
      } else {
        var link = document.createElement("a");
        link.href = detailUrl(feature.properties.slug);
        link.textContent = feature.properties.name;
        item.appendChild(link);
        if (feature.properties.commune) {
          var place = document.createElement("span");
          place.className = "map-list__place";
          place.textContent = " (" + feature.properties.commune + ")";
          item.appendChild(place);
        }
      }
      return item;
    }

    function render(collection) {
      markers.clearLayers();
      list.replaceChildren();
      var total = 0;
      var clusters = 0;
      collection.features.forEach(function (feature) {
        total += feature.properties.count;
        if (feature.properties.count > 1) {
          clusters += 1;
        }
        drawMarker(feature);
        list.appendChild(listItem(feature));
      });
      list.dataset.total = String(total);
      if (collection.message) {
        // The server declined a viewport too wide for the filters: say what to do instead.
        status.textContent = collection.message;
      } else if (total === 0) {
        status.textContent = "Aucune structure dans cette partie de la carte.";
      } else {
        var points = collection.features.length - clusters;
        status.textContent =
          "La carte affiche " + plural(total, "structure", "structures") +
          (clusters ? " : " + plural(clusters, "groupe", "groupes") + " et " +
            plural(points, "structure isolée", "structures isolées") : "") + ".";
      }
      if (focusListAfterLoad) {
        focusListAfterLoad = false;
        listHeading.focus();
      }
    }

    function syncUrl() {
      var center = map.getCenter();
      var viewport = { lat: center.lat.toFixed(5), lon: center.lng.toFixed(5), z: String(map.getZoom()) };
      var params = filterParams();
      VIEWPORT_KEYS.forEach(function (key) {
        params.set(key, viewport[key]);
        hidden[key].value = viewport[key];
      });
      window.history.replaceState(window.history.state, "", "?" + params.toString());
    }

    function load() {
      syncUrl();
      var bounds = map.getBounds();
      var west = Math.max(-180, bounds.getWest());
      var east = Math.min(180, bounds.getEast());
      var south = Math.max(-90, bounds.getSouth());
      var north = Math.min(90, bounds.getNorth());
      if (!(west < east && south < north)) {
        return;
      }
      var params = filterParams();
      params.set("bbox", [west, south, east, north].map(function (value) {
        return value.toFixed(5);
      }).join(","));
      params.set("zoom", String(map.getZoom()));
      if (controller) {
        controller.abort();
      }
      controller = new AbortController();
      fetch(config.clustersUrl + "?" + params.toString(), {
        signal: controller.signal,
        headers: { Accept: "application/geo+json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(render)
        .catch(function (error) {
          if (error.name !== "AbortError") {
            status.textContent = "La carte n'a pas pu être mise à jour. Réessayez ou consultez l'annuaire.";
          }
        });
    }

    listHeading.tabIndex = -1;
    map.on("moveend", load);
    if (config.viewport) {
      map.setView([config.viewport.lat, config.viewport.lon], config.viewport.z);
    } else {
      var extent = config.extent;
      map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]]);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.querySelector("[data-map]");
    if (container && window.L) {
      setup(container);
    }
  });
})();
