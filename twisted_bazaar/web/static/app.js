// The twisted-bazaar web view: draws what /api/events pushes (Server-Sent
// Events, read with fetch to send the operator's token), on the market page (data-page="market") or a node's page
// (data-page="node", /node/ID).  The market's graph is drawn by
// vis-network (the global `vis`, loaded before this script from
// /static/vis-network.min.js, as the pyvis package installs it).
"use strict";

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString();
}

function counts(map) {
  const entries = Object.entries(map || {});
  return entries.length ? entries.map(([item, n]) => `${item} ${n}`).join(", ") : "none";
}

// What a node's answer left out, cut to fit a frame: its answer says how
// many items (stockItems) or files (filesShared) it holds in all.
// Said as bazaar node and bazaar list say it.
function cutWords(held, kind, listed) {
  return held ? `${held.toLocaleString("en")} ${kind} (the first ` +
    `${listed.toLocaleString("en")} by name: all that fit in its answer)` : "";
}

function cutLines(nodes, key, verb, kind, listed) {
  return nodes.filter((node) => node[key]).map((node) =>
    `and more: node ${shortId(node.id)} ${verb} ${node[key].toLocaleString("en")} ${kind}, ` +
    `its answer held the first ${listed(node).toLocaleString("en")} by name (all that fit)`
  ).join("; ");
}

// Bytes in the largest binary unit they fill, as bazaar list says them.
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = n, unit = 0;
  while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
  return unit ? `${size.toFixed(1)} ${units[unit]}` : `${n} B`;
}

// A node's role, as its colour says it: the roles a node tells its
// operator (a buyer that has bought nothing yet is a buyer); else, for a
// stranger's answer or an older node's, as its stock and bag show it.
function kindOf(node) {
  if (node.roles) {
    return node.roles.includes("seller") ? "seller" :
      node.roles.includes("buyer") ? "buyer" : "other";
  }
  if (Object.values(node.stock || {}).some((n) => n > 0) || node.files) return "seller";
  if (Object.keys(node.bag || {}).length) return "buyer";
  return "other";
}

// A node's id as people read it: a key's id (32 hex digits) cut to its
// first 8, a keyless id whole.  Ids are strings, never parsed as numbers.
function shortId(id) {
  return id.length === 32 ? id.slice(0, 8) : id;
}

// Units of an item as every tool says them: the item's name as it is,
// "apple x3"; one unit is the item alone.
function counted(item, units) {
  return units === 1 ? item : `${item} x${units}`;
}

function describe(event) {
  const who = `node ${shortId(event.node)}`;
  switch (event.kind) {
    case "sold": return `${who} sold ${counted(event.item, event.units)}`;
    case "bought": return `${who} bought ${counted(event.item, event.units)}`;
    case "linked": return `linked to node ${shortId(event.peer)}`;
    case "unlinked": return `link to node ${shortId(event.peer)} closed`;
    default: return `${who} ${event.kind}`;
  }
}

// A node's id as a link to its page: short, whole in its tooltip.
function nodeLink(id) {
  return el("a", {href: `/node/${id}`, title: id}, shortId(id));
}

// A node's id as a link in a cell, or what stands for a side not seen.
function nodeCell(id, unseen) {
  const cell = el("td");
  if (id === null || id === undefined) cell.append(el("span", {"class": "unseen"}, unseen));
  else cell.append(nodeLink(id));
  return cell;
}

// What a node that does not answer (frozen, overloaded) looks like.
function silence(node) {
  return `not answering for ${Math.round(node.quiet)} s`;
}

// A download as a row: how far, how fast, from how many sellers, and
// what keeps it from going on when it does not.
function downloadCells(d) {
  const percent = d.size ? Math.floor(100 * d.have / d.size) : 100;
  const verified = el("td", {"class": "verified"});
  // The pieces verified as a bar, then in words.
  verified.append(el("progress", {max: 100, value: percent}),
                  ` ${bytes(d.have)} of ${bytes(d.size)} (${percent}%)`);
  return [verified,
          el("td", {}, `${bytes(d.rate)}/s`), el("td", {}, String(d.sellers)),
          el("td", {"class": "state"}, d.why ? `${d.state}: ${d.why}` : d.state)];
}

// An item's name in a cell: a file's content item (sha256:...) is cut
// short, whole in its tooltip; a long name may break after each _ . or -
// (nameText), which a browser takes for no place to break.
function itemCell(item) {
  const short = item.startsWith("sha256:") ? item.slice(0, 19) + "\u2026" : item;
  const cell = el("td", {"class": "item", title: item});
  cell.append(...nameText(short));
  return cell;
}

// A name as nodes: its text, with a <wbr> after each _ . or - inside it,
// so that "my_long_file.ogg" breaks as "my_ long_ file.ogg" would, not
// mid-word; copied, it is the name as it is (a <wbr> is no character).
function nameText(name) {
  const nodes = [];
  for (const part of name.split(/(?<=[_.-])(?=.)/)) {
    if (nodes.length) nodes.push(document.createElement("wbr"));
    nodes.push(part);
  }
  return nodes;
}

// A table's rows; an empty table is left out, and "none" said instead,
// so that it never reads as something not known.
function fillTable(id, rows) {
  const body = document.getElementById(id);
  body.replaceChildren(...rows);
  const table = body.closest("table");
  let none = table.nextElementSibling;
  if (none === null || !none.classList.contains("none")) {
    none = el("p", {"class": "none"}, "none");
    table.after(none);
  }
  table.hidden = !rows.length;
  none.hidden = rows.length > 0;
}

// A list of events, newest first; "none" when there is none (an empty
// list read as nothing shown yet).
function fill(list, events, filter) {
  const shown = events.filter(filter).reverse().map(
    (event) => el("li", {"class": event.kind}, `${clock(event.at)} ${describe(event)}`));
  list.replaceChildren(...(shown.length ? shown : [el("li", {"class": "none"}, "none")]));
}

// The colours of a node's role, as the legend and the tables show them.
const COLOURS = {seller: "#2a9d8f", buyer: "#e76f51", other: "#8d99ae"};
// The market's graph, made once and then changed in place: vis-network
// moves what changed and keeps the rest where the viewer left it.
let graph = null;
// Settled once the graph's first picture is laid out (stabilized and
// fitted): the page is shown then, not before (see listen).
let laidOut = Promise.resolve();

// A node's reach as the graph draws it: a dot only for a node the
// tracker's check found others can dial, a diamond for one it found
// they cannot (behind NAT, or an IPv6 home's firewall), a square while its reach is not known (not checked yet,
// or not said): never drawn as reachable on no one's word.
const SHAPES = {public: "dot", private: "diamond"};
const REACH_WORDS = {public: "yes", private: "no (behind NAT or a firewall)"};

// A node's size in the graph: a diamond looks smaller than a dot, a
// square bigger.
function sizeOf(shape) {
  return {dot: 15, diamond: 18, square: 12}[shape];
}

// A node as the graph draws it: its role's colour, its reach as its shape
// (SHAPES), hollow and dashed while it does not answer; its tooltip in
// words (as text).
function graphNode(node) {
  const colour = COLOURS[kindOf(node)];
  const shape = SHAPES[node.reach] || "square";
  const words = `node ${node.id} at ${node.host}:${node.port}, discovery ${node.scheme}` +
    `; reachable from outside: ${REACH_WORDS[node.reach] || "not known yet"}` +
    (node.relay ? `; through the relay at ${node.relay}` : "") +
    (node.silent ? `: ${silence(node)}` : "");
  // The operator's own node (the view is told its whole state) is
  // ringed in black and labelled so.
  return {id: node.id, label: shortId(node.id) + (node.operator ? " (yours)" : ""),
          title: el("div", {}, words + (node.operator ? "; this view's own node" : "")),
          shape, size: sizeOf(shape),
          color: node.silent ? {background: "#fff", border: "#c0392b"}
                             : {background: colour, border: node.operator ? "#000" : "#333"},
          font: node.operator ? {bold: true} : {},
          shapeProperties: {borderDashes: node.silent ? [3, 2] : false},
          borderWidth: node.silent ? 2 : node.operator ? 4 : 1};
}

// The items new or changed since keys were kept (keys: each item's last
// form, its tooltip as its words, by id), which are kept now.
function fresh(keys, items) {
  return items.filter((item) => {
    const key = JSON.stringify(item, (name, value) =>
      name === "title" ? value.textContent : value);
    if (keys.get(item.id) === key) return false;
    keys.set(item.id, key);
    return true;
  });
}

// What changed in a DataSet: items gone are removed, and only new or
// changed ones updated, since each update starts vis-network's physics
// again (an answer that changes nothing moved the nodes a little).
function refresh(set, keys, items) {
  const ids = new Set(items.map((item) => item.id));
  const gone = set.getIds().filter((id) => !ids.has(id));
  set.remove(gone);
  gone.forEach((id) => keys.delete(id));
  const changed = fresh(keys, items);
  if (changed.length) set.update(changed);
}

// A link over QUIC's colour (the legend's too: style.css's .quic).
const QUIC_LINK = "#7b2cbf";

// The links as the graph draws them: a link that runs through a relay's
// circuit, as an end says, dashed and blue (as strong as a direct one);
// a direct one (dialled, or punched between two homes) solid, teal where
// an end says it runs over QUIC on UDP.
function graphLinks(market) {
  const relayed = new Set((market.relayed || []).map(([a, b]) => `${a}-${b}`));
  const quic = new Set((market.quic || []).map(([a, b]) => `${a}-${b}`));
  return market.edges.map(([a, b]) => {
    const viaRelay = relayed.has(`${a}-${b}`);
    const overQuic = quic.has(`${a}-${b}`);
    const colour = viaRelay ? "#3d5a80" : overQuic ? QUIC_LINK : "#999";
    return {id: `${a}-${b}`, from: a, to: b, dashes: viaRelay ? [8, 5] : false,
            relayed: viaRelay, quic: overQuic, color: {color: colour},
            width: viaRelay || overQuic ? 2 : 1.5};
  });
}

function drawGraph(box, market) {
  const shown = market.nodes.map(graphNode);
  const links = graphLinks(market);
  if (graph === null) {
    // The first picture is the network's data from the start, so that it
    // is laid out (stabilized, then fitted) before it is drawn: nodes
    // added to a network already drawn flew into place for a second or
    // two, on each load.  The seed and the nodes' order (by id) give the
    // same layout at each load.
    const nodeKeys = new Map(), linkKeys = new Map();
    const nodes = new vis.DataSet(fresh(nodeKeys, shown));
    const edges = new vis.DataSet(fresh(linkKeys, links));
    const network = new vis.Network(box, {nodes, edges}, {
      layout: {randomSeed: 7},
      // avoidOverlap keeps nodes, and so their labels, apart; a label on
      // a white ground stays legible where a link crosses it.
      physics: {stabilization: {iterations: 150},
                barnesHut: {springLength: 110, avoidOverlap: 0.6}},
      interaction: {hover: true, tooltipDelay: 150},
      nodes: {font: {size: 13, background: "rgba(255, 255, 255, 0.85)"}},
      edges: {color: {color: "#999"}, width: 1.5, smooth: false},
    });
    network.on("click", (event) => {
      if (event.nodes.length) window.location = `/node/${event.nodes[0]}`;
    });
    network.on("afterDrawing", drawMoving);
    if (shown.length) {
      laidOut = new Promise((done) => network.once("stabilizationIterationsDone", done));
    }
    // For the browser test: whether the nodes have come to rest.
    network.on("startStabilizing", () => { graph.settled = false; });
    network.on("stabilized", () => { graph.settled = true; });
    // moving: the trades on their way; moves: when each started (for the
    // browser test), the last 50; shown: each node and link as last
    // drawn, by id (what a flash goes back to).
    graph = {network, nodes, edges, trades: null, moved: null, moving: [], moves: [],
             animating: false, nodeKeys, linkKeys, shown: new Map(), settled: false};
    // For the browser test: what the graph holds.
    window.bazaarGraph = graph;
  } else {
    const empty = graph.nodes.length === 0;
    refresh(graph.nodes, graph.nodeKeys, shown);
    refresh(graph.edges, graph.linkKeys, links);
    // The first nodes of a market that had none are laid out before
    // they are drawn, as a first picture is.
    if (empty && shown.length) graph.network.stabilize();
  }
  graph.shown = new Map([...shown, ...links].map((item) => [item.id, item]));
  flashTrades(market.trades);
  moveTrades(market.trades);
}

// Milliseconds a trade takes to move one hop of its path.
const HOP_MS = 700;

// A trade whose path a node told its operator (buyer first, seller last)
// moves along it as a dot, from its seller to its buyer, hop by hop, the
// links it takes drawn thick meanwhile: over a relayed (dashed) link when
// the buy went through a relay's circuit.  Trades from before the page
// opened do not move.
function moveTrades(trades) {
  const keys = trades.map((trade) => trade.path ?
    `${trade.at} ${trade.item} ${trade.path.join(" ")}` : null);
  if (graph.moved !== null) {
    trades.forEach((trade, i) => {
      if (keys[i] !== null && !graph.moved.has(keys[i])) startMove(trade.path);
    });
  }
  graph.moved = new Set(keys.filter((key) => key !== null));
}

function linkBetween(a, b) {
  return graph.edges.get(`${a}-${b}`) ? `${a}-${b}` :
    graph.edges.get(`${b}-${a}`) ? `${b}-${a}` : null;
}

function startMove(path) {
  const hops = path.slice().reverse().filter((id) => graph.nodes.get(id));
  if (hops.length < 2) return;
  const links = hops.slice(1).map((id, i) => linkBetween(hops[i], id)).filter((id) => id);
  const duration = HOP_MS * (hops.length - 1);
  graph.moving.push({hops, start: performance.now(), duration});
  graph.moves.push({path, hops, links, at: Date.now()});
  if (graph.moves.length > 50) graph.moves.shift();
  graph.edges.update(links.map((id) => ({id, width: 4, color: {color: "#f4a261"}})));
  setTimeout(() => graph.edges.update(links.filter((id) => graph.edges.get(id))
    .map((id) => restored(id, "width", "color"))), duration);
  if (!graph.animating) {
    graph.animating = true;
    requestAnimationFrame(animate);
  }
}

function animate() {
  const now = performance.now();
  graph.moving = graph.moving.filter((move) => now - move.start < move.duration);
  graph.network.redraw();
  if (graph.moving.length) requestAnimationFrame(animate);
  else graph.animating = false;
}

// Draws each moving trade's dot where it is now, between two hops.
function drawMoving(ctx) {
  const now = performance.now();
  for (const move of graph.moving) {
    const positions = graph.network.getPositions(move.hops);
    const along = Math.min(1, (now - move.start) / move.duration) * (move.hops.length - 1);
    const hop = Math.min(Math.floor(along), move.hops.length - 2);
    const from = positions[move.hops[hop]], to = positions[move.hops[hop + 1]];
    if (!from || !to) continue;
    const t = along - hop;
    ctx.beginPath();
    ctx.arc(from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t, 7, 0, 2 * Math.PI);
    ctx.fillStyle = "#f4a261";
    ctx.strokeStyle = "#333";
    ctx.lineWidth = 2;
    ctx.fill();
    ctx.stroke();
  }
}

// A node's or link's names as last drawn, after a flash or a move (the
// operator's ring, a relayed link's width and colour kept).
function restored(id, ...names) {
  const item = graph.shown.get(id);
  return Object.fromEntries([["id", id], ...names.map((name) => [name, item[name]])]);
}

// A trade seen since the last picture flashes its seller (and its buyer,
// where seen) for a second, so that trades show where they happen.
function flashTrades(trades) {
  const seen = trades.map((trade) => `${trade.at} ${trade.seller} ${trade.item}`);
  if (graph.trades !== null) {
    const before = new Set(graph.trades);
    const fresh = trades.filter((trade, i) => !before.has(seen[i]));
    const flashed = new Set(fresh.flatMap((trade) => [trade.seller, trade.buyer])
      .filter((id) => id && graph.nodes.get(id)));
    if (flashed.size) {
      graph.nodes.update([...flashed].map((id) => ({id, size: 26, borderWidth: 4})));
      setTimeout(() => graph.nodes.update([...flashed].filter((id) => graph.nodes.get(id))
        .map((id) => restored(id, "size", "borderWidth"))), 1000);
    }
  }
  graph.trades = seen;
}

// What only a node's operator is told (data-operator: downloads, bag,
// messages, the buyer colour) is left out, not shown empty, where the
// view is told it by no node: an empty table would read as "none".  The
// page holds them hidden until told.
function showOperatorParts(told) {
  for (const part of document.querySelectorAll("[data-operator]")) part.hidden = !told;
}

function showMarket(market) {
  // The tracker's list names as many nodes as fit in one frame, and a
  // LAN-only node only to its own LAN: the count says when there are
  // more live nodes than the view was told of.
  const count = document.getElementById("count");
  count.textContent = market.live > market.nodes.length ?
    `${market.nodes.length} of ${market.live}` : market.nodes.length;
  count.title = market.live > market.nodes.length ?
    "the tracker's list names no more (one frame; a LAN-only node only to " +
    "its own LAN): the others are not shown" : "";
  // A view that asks the tracker (bazaar web) shows its last list while
  // it does not answer, and says so.
  // One that proved another key than the tracker's is an impostor's: its
  // market is never shown, and the page warns in red.
  const tracker = market.trackerSilent;
  const said = document.getElementById("tracker");
  said.textContent = !tracker ? "" : tracker.impostor ?
    `WARNING: what answers at the tracker's address since ${clock(tracker.since)} ` +
    `is not the tracker (${tracker.error}); its market is not shown: the nodes ` +
    `shown are those of the tracker's last list` :
    `the tracker has not answered since ${clock(tracker.since)} ` +
    `(${tracker.error}): the nodes shown are those of its last list`;
  said.classList.toggle("impostor", Boolean(tracker && tracker.impostor));
  showOperatorParts(market.nodes.some((node) => node.operator));
  drawGraph(document.getElementById("graph"), market);
  const rows = [];
  for (const [item, sellers] of Object.entries(market.offers)) {
    for (const offer of sellers) {
      const row = el("tr", {"data-item": item, "data-node": offer.node});
      row.append(itemCell(item), nodeCell(offer.node),
                 el("td", {"class": "units"}, String(offer.units)));
      rows.push(row);
    }
  }
  fillTable("offers", rows);
  document.getElementById("offersCut").textContent = cutLines(
    market.nodes, "stockItems", "holds", "items", (node) => Object.keys(node.stock || {}).length);
  // A shared file once, by name: its size, its hash (short, whole in the
  // tooltip) and the nodes sharing it.
  fillTable("files", (market.files || []).map((file) => {
    const row = el("tr", {"data-item": file.name});
    const sellers = el("td", {"class": "sellers"});
    file.nodes.forEach((id, i) => {
      if (i) sellers.append(", ");
      sellers.append(nodeLink(id));
    });
    row.append(itemCell(file.name), el("td", {"class": "size"}, bytes(file.size)),
               el("td", {"class": "hash", title: file.contentId}, file.contentId.slice(0, 12) + "\u2026"),
               sellers);
    return row;
  }));
  document.getElementById("filesCut").textContent = cutLines(
    market.nodes, "filesShared", "shares", "files", (node) => node.files);
  // Each node's downloads under way, with the node fetching.
  fillTable("downloads", (market.downloads || []).map((d) => {
    const row = el("tr", {"data-item": d.name, "class": d.state});
    row.append(itemCell(d.name), nodeCell(d.node), ...downloadCells(d));
    return row;
  }));
  const silent = market.nodes.filter((node) => node.silent);
  document.getElementById("silent").textContent = silent.length ?
    `${silent.length} not answering: ` + silent.map(
      (node) => `${shortId(node.id)} (${Math.round(node.quiet)} s)`).join(", ") : "";
  // One row per trade, with its units.
  fillTable("trades", market.trades.slice().reverse().map(
    (trade) => {
      const row = el("tr", {"data-item": trade.item});
      row.append(el("td", {}, clock(trade.at)), nodeCell(trade.seller, "not seen"),
                 itemCell(trade.item), el("td", {"class": "units"}, String(trade.units)),
                 nodeCell(trade.buyer, "not seen"));
      return row;
    }));
}

// On a node's page, everything but the line saying what the node is.
function showDetails(shown) {
  for (const part of document.querySelectorAll("main section > :not(#address)")) {
    part.hidden = !shown;
  }
}

function showNode(node) {
  const address = document.getElementById("address");
  if (node === null) {
    showDetails(false);
    address.className = "gone";
    address.textContent = "No live node has this id: it left before this view " +
      "started, or never joined. The market's page lists the live nodes.";
    return;
  }
  document.getElementById("title").textContent = `node ${shortId(node.id)}`;
  if (node.left !== undefined) {
    // A node that left: where it was, when it went, and what was seen.
    showDetails(false);
    address.className = "gone";
    address.textContent = `This node left the market at ${clock(node.left)}; it ` +
      `was at ${node.host}:${node.port}, discovery ${node.scheme}. What the view ` +
      `saw of it: ${node.events.map(describe).join("; ") || "nothing"}.`;
    return;
  }
  showDetails(true);
  showOperatorParts(node.operator === true);
  address.className = node.silent ? "silent" : "";
  address.textContent =
    `at ${node.host}:${node.port}, discovery ${node.scheme}` +
    (node.roles ? `, ${node.roles.length ? "role " + node.roles.join(", ") : "no role"}` : "") +
    (node.known ? "" : " (its state is not known yet)") +
    (node.known && !node.operator ?
       "; it tells this view its public facts only: its bag, pending buys, other " +
       "links, downloads, messages, trades and copies sold are its operator's, and left " +
       "out here" : "") +
    (node.silent ? `: ${silence(node)}; what follows is its last answer` : "");
  fillTable("links", (node.links || []).map((link) => {
    const row = el("tr");
    row.append(el("td"), el("td", {}, `${link.host}:${link.port}`),
               el("td", {}, [link.purpose, link.relayed && "through a relay",
                             link.quic && "over QUIC"].filter(Boolean).join(", ")));
    row.children[0].append(el("a", {href: `/node/${link.id}`, title: link.id}, shortId(link.id)));
    return row;
  }));
  const stockCut = cutWords(node.stockItems, "items", Object.keys(node.stock || {}).length);
  document.getElementById("stock").textContent =
    (stockCut ? stockCut + ": " : "") + counts(node.stock);
  document.getElementById("filesCut").textContent = cutWords(
    node.filesShared, "files", (node.files || []).length);
  document.getElementById("bag").textContent = counts(node.bag);
  document.getElementById("pending").textContent = node.known ? node.pending : "?";
  fillTable("files", (node.files || []).map((file) => {
    const row = el("tr", {"data-item": file.name});
    row.append(itemCell(file.name), el("td", {"class": "size"}, bytes(file.size)),
               el("td", {"class": "hash", title: file.contentId}, file.contentId.slice(0, 12) + "\u2026"),
               el("td", {"class": "sold"}, file.sold === undefined ? "withheld" : String(file.sold)));
    return row;
  }));
  fillTable("downloads", (node.downloads || []).map((d) => {
    const row = el("tr", {"data-item": d.name, "class": d.state});
    row.append(itemCell(d.name), ...downloadCells(d));
    return row;
  }));
  // Its trades, newest first, each with the path its buy took.
  fillTable("trades", (node.trades || []).slice().reverse().map(
    (trade) => {
      const row = el("tr", {"data-item": trade.item});
      const path = el("td", {"class": "path"});
      trade.path.forEach((id, i) => {
        if (i) path.append(" \u2192 ");
        path.append(nodeLink(id));
      });
      row.append(el("td", {}, clock(trade.at)), itemCell(trade.item),
                 el("td", {"class": "units"}, String(trade.units)), path);
      return row;
    }));
  fill(document.getElementById("events"), node.events, () => true);
  fillTable("messages", (node.messages || []).slice().reverse().map(
    (message) => {
      const row = el("tr", {"class": message.dir});
      const peer = el("td");
      if (message.peer !== "") peer.append(el("a", {href: `/node/${message.peer}`, title: message.peer}, shortId(message.peer)));
      else peer.textContent = "a new connection";
      row.append(el("td", {}, clock(message.at)),
                 el("td", {}, message.dir === "in" ? "\u2190 from" : "\u2192 to"), peer,
                 el("td", {}, message.type));
      return row;
    }));
}

// The operator's token: from the link bazaar web printed (?token=),
// kept for this tab in sessionStorage (this origin's alone: no other
// port's page, no other site sees it; never a cookie, which a browser
// sends to every port of 127.0.0.1) and taken out of the address at once
// (no history entry, bookmark or Referer keeps it).  Sent with each of
// the page's requests as Authorization: Bearer; none for a stranger.
const TOKEN_KEY = "bazaar-token";

function operatorToken() {
  const address = new URL(window.location.href);
  const given = address.searchParams.get("token");
  let kept = null;
  try {
    if (given !== null) sessionStorage.setItem(TOKEN_KEY, given);
    kept = sessionStorage.getItem(TOKEN_KEY);
  } catch (refused) {
    // Storage turned off: the token serves this page alone.
    kept = given;
  }
  if (given !== null) {
    address.searchParams.delete("token");
    history.replaceState(history.state, "", address.pathname + address.search + address.hash);
  }
  return kept;
}

// One Server-Sent Events stream, read with fetch (an EventSource cannot
// send the token's header): each event's data to take(name, data).  A
// stream cut, or never reached, is tried again after RETRY ms, as an
// EventSource would; one the view refused (a 503: too many pages; a 404:
// a node it no longer has) is not, and refused(status) says so.  An
// answer the view marks x-bazaar-token (the token sent is not its own:
// it was restarted, making a new one) is followed, stale() told.
const RETRY = 3000;

function follow(url, token, take, lost, refused, stale) {
  const headers = token ? {Authorization: `Bearer ${token}`} : {};
  const again = () => { lost(); setTimeout(connect, RETRY); };
  const dispatch = (block) => {
    let name = "message";
    const data = [];
    for (const line of block.split(/\r\n|\r|\n/)) {
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) take(name, data.join("\n"));
  };
  async function connect() {
    let answer;
    try {
      answer = await fetch(url, {headers, cache: "no-store"});
    } catch (cut) {
      again();
      return;
    }
    if (!answer.ok) {
      refused(answer.status);
      return;
    }
    if (answer.headers.get("x-bazaar-token")) stale();
    const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    try {
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        text += value;
        const blocks = text.split(/\r\n\r\n|\n\n|\r\r/);
        text = blocks.pop();
        blocks.forEach(dispatch);
      }
    } catch (cut) {
      // The connection was cut: tried again below.
    }
    again();
  }
  connect();
}

function listen() {
  const page = document.body.dataset.page;
  const status = document.getElementById("status");
  let url = "/api/events", kind = "market", show = showMarket;
  if (page === "node") {
    url += "?node=" + window.location.pathname.split("/").pop();
    kind = "node";
    show = showNode;
  }
  // A token the view no longer takes: what a stranger is shown is shown,
  // and the header says why, in red, until the new link is opened.
  let staleToken = false;
  const take = (name, text) => {
    if (name !== kind) return;
    const data = JSON.parse(text);
    // Live only while the tracker answers the view too: else its last
    // list is shown, and the header says so in red.
    const silent = data.trackerSilent;
    const updated = new Date().toLocaleTimeString();
    if (staleToken) {
      status.textContent = "this page's token is no longer good (bazaar web " +
        "restarted, with a new one): open the new link from its terminal; shown " +
        `meanwhile: the public market, updated ${updated}`;
    } else {
      status.textContent = silent ?
        `the tracker is not answering (since ${clock(silent.since)}); updated ` +
        updated : `live, updated ${updated}`;
    }
    status.className = silent || staleToken ? "lost" : "live";
    show(data);
    // The page is shown once drawn as told, its graph laid out: before,
    // its tables, the operator's parts (shown until told otherwise) and
    // the graph's nodes moved on each load.
    laidOut.then(() => document.body.classList.remove("waiting"));
  };
  const lost = () => {
    status.textContent = "connection lost; retrying…";
    status.className = "lost";
  };
  const refused = () => {
    status.textContent = "the view refused this page's events (too many pages open, or a " +
      "node it no longer has); reload to try again";
    status.className = "lost";
  };
  const stale = () => { staleToken = true; };
  follow(url, operatorToken(), take, lost, refused, stale);
}

listen();
