"""
Tests of twisted_bazaar.schemes.superpeer (the plugin): its options under
``twistd bazaar-node``, their defaults, and bad values refused with a
reason.
"""

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from twisted_bazaar.daemon.registry import discoveryPlugins
from twisted_bazaar.schemes.superpeer import Settings, parseNeighbour, parseYesNo
from twisted_bazaar.tap.node import Options, makeService

SELLER = ["--role", "seller", "--sell", "apple=1", "--discovery", "superpeer"]


def parse(args):
    options = Options()
    options.parseOptions(args)
    return options


class OptionTests(SynchronousTestCase):
    def test_defaultsMakeALeaf(self):
        plugin, settings = parse(SELLER).scheme
        self.assertEqual(plugin.name, "superpeer")
        self.assertEqual(settings, Settings())
        self.assertEqual(settings.superpeers, 2)

    def test_superPeerWithNamedNeighbours(self):
        _, settings = parse(SELLER + [
            "--super", "--superpeer-neighbour", "sp1.example:7001",
            "--superpeer-neighbour", "[::1]:7002",
            "--superpeer-neighbour", "tcp:127.0.0.1:7003",
            "--superpeer-neighbour", "tcp:host=sp4.example:port=7004", "--query-ttl", "5",
            "--dynamic-querying", "no", "--enough-hits", "3",
            "--query-deadline", "0.5", "--superpeer-retry", "0.1"]).scheme
        self.assertTrue(settings.superpeer)
        self.assertEqual(settings.neighbours, (
            ("sp1.example", 7001), ("::1", 7002), ("127.0.0.1", 7003),
            ("sp4.example", 7004)))
        self.assertEqual((settings.query_ttl, settings.dynamic, settings.enough_hits,
                          settings.query_deadline), (5, False, 3, 0.5))
        self.assertEqual((settings.retry_min, settings.retry_max), (0.1, 6.0))

    def test_serviceOfASuperPeer(self):
        service = makeService(parse(SELLER + ["--super"]))
        discovery = service.node.discovery
        self.assertEqual((discovery.name, discovery.superpeer), ("superpeer", True))

    def test_badValues(self):
        cases = [
            (["--superpeers", "0"], "--superpeers: wants a whole number from 1 to 8, "
             "not 0"),
            (["--query-ttl", "17"], "--query-ttl: wants a whole number from 1 to 16, "
             "not 17"),
            (["--superpeer-neighbour", "nohost"], "--superpeer-neighbour: wants "
             "HOST:PORT or an endpoint such as tcp:HOST:PORT, not 'nohost'"),
            (["--superpeer-neighbour", "h:99999"], "--superpeer-neighbour: port 99999 "
             "is not in 1 ... 65535"),
            (["--superpeer-neighbour", "tls:h:7001"], "--superpeer-neighbour: a tls: "
             "endpoint cannot work here: nodes link to each other over plain TCP "
             "(use HOST:PORT or tcp:)"),
            (["--dynamic-querying", "maybe"], "--dynamic-querying: wants yes or no, "
             "not 'maybe'"),
            (["--query-deadline", "-1"], "--query-deadline: wants a positive number "
             "of seconds, not '-1'"),
            (["--probe-ttl", "5", "--query-ttl", "4"], "--discovery superpeer: "
             "--probe-ttl 5 is over --query-ttl 4"),
        ]
        for args, message in cases:
            error = self.assertRaises(usage.UsageError, parse, SELLER + args)
            self.assertEqual(str(error), message, args)

    def test_superBelongsToTheScheme(self):
        error = self.assertRaises(usage.UsageError, parse,
                                  ["--role", "seller", "--sell", "a=1", "--super"])
        self.assertEqual(str(error), "--super belongs to the superpeer scheme; add "
                         "--discovery superpeer")

    def test_everyOptionDocumented(self):
        plugin = discoveryPlugins()["superpeer"]
        for option in plugin.options:
            self.assertTrue(option.help, option.name)
            if not option.flag:
                self.assertTrue(option.parse.coerceDoc, option.name)
        usage_text = " ".join(Options().getUsage().split())
        self.assertIn("Serve as a super-peer (else this node is a leaf) (superpeer "
                      "scheme).", usage_text)

    def test_parsers(self):
        self.assertEqual(parseNeighbour("127.0.0.1:80"), ("127.0.0.1", 80))
        self.assertEqual(parseNeighbour("tcp:port=80:host=h"), ("h", 80))
        self.assertEqual((parseYesNo("yes"), parseYesNo("no")), (True, False))
        self.assertRaises(ValueError, parseNeighbour, ":80")
        self.assertRaises(ValueError, parseNeighbour, "h" * 256 + ":80")
