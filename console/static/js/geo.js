// The county's geography (GeoJSON from the county package) drawn as SVG with our own projection:
// county intranets have no tile servers. An equirectangular projection scaled by cos(latitude) is
// exact enough for a county a few tens of kilometres across.

const LEVEL = { county: "county", district: "county", town: "town", street: "town", township: "town",
  village: "village", community: "village", grid: "grid" };

export function levelOf(feature) { return LEVEL[feature.properties.level] || "grid"; }

function rings(geometry) {
  return geometry.type === "Polygon" ? geometry.coordinates : geometry.type === "MultiPolygon" ? geometry.coordinates.flat() : [];
}

export function projection(features, width, height, pad = 20) {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of features) for (const ring of rings(f.geometry)) for (const [lon, lat] of ring) {
    x0 = Math.min(x0, lon); x1 = Math.max(x1, lon); y0 = Math.min(y0, lat); y1 = Math.max(y1, lat);
  }
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
  const scale = Math.min((width - 2 * pad) / ((x1 - x0) * k), (height - 2 * pad) / (y1 - y0));
  const ox = (width - (x1 - x0) * k * scale) / 2;
  const oy = (height - (y1 - y0) * scale) / 2;
  return ([lon, lat]) => [ox + (lon - x0) * k * scale, oy + (y1 - lat) * scale];
}

export function pathOf(feature, project) {
  return rings(feature.geometry)
    .map((ring) => "M" + ring.map((p) => project(p).map((v) => v.toFixed(1)).join(",")).join("L") + "Z")
    .join("");
}

// The centroid of a polygon's outer ring (area-weighted), in projected coordinates.
export function centroidOf(feature, project) {
  const ring = rings(feature.geometry)[0].map(project);
  let [a, cx, cy] = [0, 0, 0];
  for (let i = 0; i < ring.length - 1; i++) {
    const [x0, y0] = ring[i]; const [x1, y1] = ring[i + 1];
    const c = x0 * y1 - x1 * y0;
    a += c; cx += (x0 + x1) * c; cy += (y0 + y1) * c;
  }
  if (!a) return ring[0];
  return [cx / (3 * a), cy / (3 * a)];
}

// A small, stable offset per case so cases of one grid do not hide each other.
export function jitter(id, radius) {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) | 0;
  const angle = ((h >>> 0) % 360) * Math.PI / 180;
  const r = radius * (0.3 + (((h >>> 9) % 100) / 100) * 0.7);
  return [Math.cos(angle) * r, Math.sin(angle) * r];
}
