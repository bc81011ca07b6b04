"""
Tests of how the web view's script (web/static/app.js) draws a node in
the graph, run in Node.js with a stand-in for the page's document
(skipped where Node.js is not installed): the shape and words must say
what the node said of its reach, never more, and the colour its role;
and a new picture changes in the graph only what changed.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

APP = Path(__file__).parents[2] / "twisted_bazaar" / "web" / "static" / "app.js"

#: Runs app.js without its last line (listen(), which needs a browser)
#: in a context whose document makes plain objects, and prints what
#: graphNode makes of each node given on stdin.
HARNESS = r"""
const vm = require("vm");
const fs = require("fs");
const source = fs.readFileSync(process.argv[1], "utf8").replace(/\nlisten\(\);\s*$/, "\n");
const document = {createElement: (tag) => ({tag, setAttribute() {}, textContent: ""})};
const context = vm.createContext({document});
vm.runInContext(source + "\nthis.graphNode = graphNode;", context);
const nodes = JSON.parse(fs.readFileSync(0, "utf8"));
console.log(JSON.stringify(nodes.map((node) => {
  const drawn = context.graphNode(node);
  return [drawn.shape, drawn.title.textContent, drawn.color.background];
})));
"""


def drawn(nodes):
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise SkipTest("no Node.js to run the page's script")
    done = subprocess.run([node, "-e", HARNESS, str(APP)], input=json.dumps(nodes),
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def node(**fields):
    return dict({"id": "17", "host": "10.0.0.1", "port": 9001, "scheme": "flood",
                 "known": True, "quiet": 0, "silent": False, "stock": {}, "files": 0},
                **fields)


class ReachShapeTests(SynchronousTestCase):
    def test_onlyADialledNodeIsDrawnReachable(self):
        """A dot ('reachable from outside', the legend says) only for a
        node whose reach is public; a node at home a diamond; one whose
        reach is unknown, or not said yet (its state not known), a
        square, 'not known yet' (both were dots, the second with no
        word on its reach). A diamond says 'behind NAT or a firewall'
        (it said 'no, at home': an IPv6 home has a firewall, no NAT)."""
        self.assertEqual([shown[:2] for shown in drawn([
            node(reach="public"), node(reach="private"), node(reach="unknown"),
            node(known=False)])], [
            ["dot", "node 17 at 10.0.0.1:9001, discovery flood; reachable from "
                    "outside: yes"],
            ["diamond", "node 17 at 10.0.0.1:9001, discovery flood; reachable from "
                        "outside: no (behind NAT or a firewall)"],
            ["square", "node 17 at 10.0.0.1:9001, discovery flood; reachable from "
                       "outside: not known yet"],
            ["square", "node 17 at 10.0.0.1:9001, discovery flood; reachable from "
                       "outside: not known yet"]])


def colours():
    """app.js's COLOURS: role -> colour."""
    found = re.search(r"const COLOURS = \{(.*?)\};", APP.read_text())
    return dict(re.findall(r'(\w+): "(#[0-9a-f]+)"', found[1]))


SELLER, BUYER, OTHER = (colours()[role] for role in ("seller", "buyer", "other"))


class RoleColourTests(SynchronousTestCase):
    def colours(self, *nodes):
        return [shown[2] for shown in drawn(list(nodes))]

    def test_theRolesANodeTellsItsOperator(self):
        """A buyer that has bought nothing (its bag empty) was grey, as a
        node without a role: a node told by its roles is coloured by
        them, a seller's whatever its stock (sold out, it is a seller)."""
        self.assertEqual(self.colours(
            node(operator=True, roles=["buyer"], bag={}),
            node(operator=True, roles=["seller"], stock={"apple": 0}),
            node(operator=True, roles=["buyer", "seller"], bag={"apple": 1}),
            node(operator=True, roles=[], bag={}),
            node(operator=True, roles=["gardener"])),
            [BUYER, SELLER, SELLER, OTHER, OTHER])

    def test_withoutRolesAsItsStockAndBagShowIt(self):
        """A stranger's answer, or an older node's, says no roles: its
        colour is guessed from what it holds, as before."""
        self.assertEqual(self.colours(
            node(stock={"apple": 2}), node(files=1), node(operator=True, bag={"apple": 1}),
            node(operator=True, bag={}), node(known=False)),
            [SELLER, SELLER, BUYER, OTHER, OTHER])


#: Runs app.js's refresh over a stand-in DataSet: each picture given on
#: stdin (a list of items) in turn; prints what each made it remove and
#: update.
REFRESH = r"""
const vm = require("vm");
const fs = require("fs");
const source = fs.readFileSync(process.argv[1], "utf8").replace(/\nlisten\(\);\s*$/, "\n");
const document = {createElement: (tag) => ({tag, setAttribute() {}, textContent: ""})};
const context = vm.createContext({document});
vm.runInContext(source + "\nthis.refresh = refresh; this.el = el;", context);
const held = new Map(), keys = new Map();
let done = [];
const set = {
  getIds: () => [...held.keys()],
  remove: (ids) => { ids.forEach((id) => held.delete(id)); done.push(["remove", ids]); },
  update: (items) => { items.forEach((item) => held.set(item.id, item));
                       done.push(["update", items.map((item) => item.id)]); },
};
const pictures = JSON.parse(fs.readFileSync(0, "utf8"));
console.log(JSON.stringify(pictures.map((items) => {
  done = [];
  // A tooltip is an element, made anew for each picture.
  context.refresh(set, keys, items.map((item) =>
    Object.assign({}, item, {title: context.el("div", {}, item.title)})));
  return done;
})));
"""


def refreshed(pictures):
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise SkipTest("no Node.js to run the page's script")
    done = subprocess.run([node, "-e", REFRESH, str(APP)], input=json.dumps(pictures),
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


class GraphRefreshTests(SynchronousTestCase):
    def test_onlyWhatChangedIsUpdated(self):
        """Each picture updated every node, and each update starts the
        graph's physics again: an answer that changed nothing moved the
        nodes.  Now a picture the same as the last updates nothing (its
        tooltips made anew, with the same words), a changed node alone
        is updated, and a node gone is removed."""
        a = {"id": "1", "title": "node 1", "size": 15}
        b = {"id": "2", "title": "node 2", "size": 15}
        self.assertEqual(refreshed([
            [a, b], [a, b], [a, dict(b, title="node 2: not answering")],
            [dict(a, size=18)], [dict(a, size=18)]]), [
            [["remove", []], ["update", ["1", "2"]]],
            [["remove", []]],
            [["remove", []], ["update", ["2"]]],
            [["remove", ["2"]], ["update", ["1"]]],
            [["remove", []]]])
