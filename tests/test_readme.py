"""
The README's examples run as written: its role plugin is installed from
the README's own text into a plugin directory, and its Market test case
is run against it.  A README that drifts from the API fails here.
"""

import os
import re
import shutil
import tempfile

from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar import plugins
from twisted_bazaar.daemon.registry import rolePlugins
from twisted_bazaar.tap import node, tracker
from twisted_bazaar.tap.node import _owners

from tests.test_running_doc import options as optionsOf

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "README.md")


def pythonBlocks():
    """The README's ```python blocks, in order."""
    with open(README, encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


class ReadmeExampleTests(SynchronousTestCase):
    def setUp(self):
        self.plugin, self.market = pythonBlocks()
        folder = tempfile.mkdtemp(prefix="bazaar-readme-")
        self.addCleanup(shutil.rmtree, folder, True)
        with open(os.path.join(folder, "bazaar_readme_counter.py"), "w") as f:
            f.write(self.plugin)
        plugins.__path__.append(folder)
        self.addCleanup(plugins.__path__.remove, folder)

    def test_pluginIsFound(self):
        """The README's role is an installed role once its module is on the
        plugin path, with the option the README says it adds."""
        counter = rolePlugins()["counter"]
        self.assertEqual([option.name for option in counter.options], ["every"])

    def test_marketExamplePasses(self):
        """The README's TestCase passes, using the README's role."""
        namespace = {}
        exec(compile(self.market, README, "exec"), namespace)
        case = namespace["TradeTests"]("test_buyerGetsAnApple")
        result = TestResult()
        case.run(result)
        self.assertEqual((result.errors, result.failures, result.successes),
                         ([], [], 1))


class ReadmeCountTests(SynchronousTestCase):
    def test_testCountIsTrue(self):
        """The README says how many tests there are as a floor that stays
        true as tests are added: at least that many test functions are
        written (parametrised ones count once here, more when run)."""
        with open(README, encoding="utf-8") as f:
            said = re.search(r"more than ([\d,]+) tests", f.read())
        self.assertIsNotNone(said, "the README says how many tests there are")
        floor = int(said.group(1).replace(",", ""))
        tests = os.path.dirname(os.path.abspath(__file__))
        written = 0
        for folder, _, names in os.walk(tests):
            for name in names:
                if name.startswith("test") and name.endswith(".py"):
                    with open(os.path.join(folder, name), encoding="utf-8") as f:
                        written += len(re.findall(r"^\s*def test", f.read(), re.M))
        self.assertGreater(written, floor)



#: The README's options table: the first cell of a row -> the daemons
#: whose options it lists.
_ROW_DAEMONS = {"both": ("tracker", "node"), "tracker": ("tracker",)}


def _said(text):
    """The default a README cell says (``3``, ``1 s``, ``100,000``,
    ``default `tcp:7700```, ``none``, ``0: no limit``), or None when it
    says none it can be checked by (``repeatable``)."""
    text = text.strip()
    if text == "none":
        return ""
    match = re.fullmatch(r"(?:default:? )?(?:`([^`]+)`|(\d[\d,.]*))(?: s|: .*)?", text)
    return (match[1] or match[2].replace(",", "")) if match else None


class ReadmeOptionsTests(SynchronousTestCase):
    def test_optionsTableIsTrue(self):
        """Every option the README's table names is one of the daemon of
        its row, with the default it says."""
        daemons = {"tracker": optionsOf(tracker.Options),
                   "node": optionsOf(node.Options, [plugin for _, plugin in _owners()])}
        for taken in daemons.values():
            taken.update({"verbose": (False, True), "config": (None, False)})
        daemons["node"].update({"role": (None, False), "tracker": (node.DEFAULT_TRACKER,
                                                                  False)})
        with open(README, encoding="utf-8") as f:
            table = f.read().split("| daemon | main options |")[1].split("\n\n")[0]
        wrong, checked = [], 0
        for row in table.splitlines()[1:]:
            first, listed = row.split("|")[1:3]
            for daemon in _ROW_DAEMONS.get(first.strip(), ("node",)):
                taken = daemons[daemon]
                for name, cell in re.findall(r"`--([\w-]+)[^`]*`(?: \(([^)]*)\))?", listed):
                    if name not in taken:
                        wrong.append(f"--{name}: no option of bazaar-{daemon}")
                        continue
                    said, default = _said(cell) if cell else None, taken[name][0]
                    if said is None or name == "data-dir":
                        continue
                    checked += 1
                    same = (said == "" and default in (None, "")) or said == str(default) \
                        or (said.replace(".", "").isdigit() and default is not None
                            and float(said) == float(default))
                    if not same:
                        wrong.append(f"--{name} of bazaar-{daemon}: the README says "
                                     f"{cell!r}, the default is {default!r}")
        self.assertEqual(wrong, [])
        self.assertGreater(checked, 15)


class ReadmeBackoffTests(SynchronousTestCase):
    """
    The README said nodes come back "within their backoff (30 s at
    most)", and they logged waits of 32 s and 36 s: the wait doubles up to
    --retry-max and is then drawn at 0.5 to 1.5 times that.  The bound it
    now says is the policy's own; running.md's Troubleshooting said "plus
    up to 1 s of jitter" and says the same bound.
    """

    def test_theBoundSaidIsThePolicys(self):
        from twisted_bazaar.base.backoff import exponential

        class Highest:
            def random(self):
                return 1.0

        defaults = optionsOf(node.Options)
        policy = exponential(float(defaults["retry-initial"][0]),
                             float(defaults["retry-max"][0]), Highest())
        bound = max(policy(attempt) for attempt in range(1, 20))
        with open(README, encoding="utf-8") as f:
            said = re.search(r"register again within their\s+backoff \((\d+) s at most",
                             f.read())
        self.assertEqual(float(said.group(1)), bound)
        running = os.path.join(os.path.dirname(README), "docs", "running.md")
        with open(running, encoding="utf-8") as f:
            troubleshooting = re.search(r"`--retry-max` \(30 s\), each\s+wait drawn at "
                                        r"0\.5 to 1\.5 times that \(jitter\), so (\d+) s "
                                        r"at most", f.read())
        self.assertEqual(float(troubleshooting.group(1)), bound)

    def test_theInstallListNamesEveryRequirement(self):
        """The README's install list omitted pynacl."""
        setup = os.path.join(os.path.dirname(README), "setup.py")
        with open(setup, encoding="utf-8") as f:
            text = f.read()
        required = re.findall(r'"([A-Za-z_]+)>=',
                              text.split("install_requires")[1].split("extras_require")[0])
        with open(README, encoding="utf-8") as f:
            said = f.read().split("This needs Python")[1].split("It also")[0].lower()
        self.assertEqual([name for name in required if name.lower() not in said], [])


class ReadmeLeftoversTests(SynchronousTestCase):
    def test_theCleanStopSaidIsWhatLeftoversGives(self):
        """The README said a test asserts leftovers "is empty": it is a
        dict of two lists, never empty, so a test written as read
        (assertFalse, or == []) failed on a clean stop.  The value the
        README says a clean stop gives is what a stopped node gives."""
        from twisted_bazaar.testing import Market

        with open(README, encoding="utf-8") as f:
            text = " ".join(f.read().split())
        said = re.search(r"`market\.leftovers\(node\)`: .*? a test of a clean stop "
                         r"asserts it equals `(\{.*?\})`", text)
        self.assertIsNotNone(said, "README no longer says what a clean stop gives")
        market = Market(seed=1)
        node = market.addNode(seller={"stock": {"apple": 1}})
        market.run(5)
        market.stop(node)
        market.run(5)
        self.assertEqual(market.leftovers(node), eval(said.group(1)))
