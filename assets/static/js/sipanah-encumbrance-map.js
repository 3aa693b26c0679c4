/* Sipanah maps: the styles of the encumbrance layer (assets/maps/encumbrance_tiles.py): disputed parts of open
 * cases hatched with a dashed edge in the dispute colour, used parts of pemanfaatan in use outlined in blue. */
(function () {
  "use strict";
  var DISPUTE = "#5e3c99";
  // The hatching is an SVG pattern defined once in the page; every tile's SVG refers to it by url(#id).
  var HATCH = "sipanah-hatch";

  function ensureHatch() {
    if (document.getElementById(HATCH)) return;
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", "0"); svg.setAttribute("height", "0"); svg.setAttribute("aria-hidden", "true");
    svg.style.position = "absolute";
    var pattern = document.createElementNS(ns, "pattern");
    pattern.setAttribute("id", HATCH); pattern.setAttribute("patternUnits", "userSpaceOnUse");
    pattern.setAttribute("width", "8"); pattern.setAttribute("height", "8");
    pattern.setAttribute("patternTransform", "rotate(45)");
    var line = document.createElementNS(ns, "line");
    line.setAttribute("x1", "0"); line.setAttribute("y1", "0"); line.setAttribute("x2", "0"); line.setAttribute("y2", "8");
    line.setAttribute("stroke", DISPUTE); line.setAttribute("stroke-width", "3");
    pattern.appendChild(line);
    var defs = document.createElementNS(ns, "defs");
    defs.appendChild(pattern); svg.appendChild(defs); document.body.appendChild(svg);
  }

  function disputeStyle() {
    ensureHatch();
    return { weight: 2, color: DISPUTE, dashArray: "6 3", fill: true, fillColor: "url(#" + HATCH + ")",
             fillOpacity: 0.8, opacity: 1 };
  }

  function utilisationStyle(p) {
    return { weight: 2, color: "#1f5fa8", dashArray: p.st === "DIPERPANJANG" ? "2 3" : null, fill: false,
             opacity: 1 };
  }

  window.SipanahEncumbrance = { disputeStyle: disputeStyle, utilisationStyle: utilisationStyle };
})();
