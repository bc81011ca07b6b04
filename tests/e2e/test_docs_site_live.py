"""
The docs site read from disk, as the README says to read it: in a real
Chromium, from ``file://``, the nav opens pages (not folder listings) and
the search finds them.
"""

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.e2e.test_web_live import browser, untilShown
from tests.test_docs_site import builtSite

#: Seconds the page may take to show what is awaited.
GENEROUS = 60.0


class SiteFromDiskTests(SynchronousTestCase):
    def setUp(self):
        # The site tests/test_docs_site.py builds, once a process.
        self.built = builtSite()
        folder, status, output = self.built
        self.assertEqual(status, 0, output)
        self.driver = browser()
        self.addCleanup(self.driver.quit)
        self.driver.get((folder / "site" / "index.html").as_uri())

    def test_navOpensPages(self):
        """Each nav link leads to the page's own file, which shows the
        page, for every page of the nav."""
        titles = self.driver.execute_script(
            "return [...document.querySelectorAll('nav.md-nav--primary > ul >"
            " li > a.md-nav__link')].map(a => a.textContent.trim())")
        self.assertIn("Running", titles)
        for title in titles:
            self.driver.execute_script(
                "[...document.querySelectorAll('nav.md-nav--primary > ul > li >"
                " a.md-nav__link')].find(a => a.textContent.trim() == arguments[0])"
                ".click()", title)
            url = untilShown(self, "return document.readyState == 'complete' && "
                             "document.querySelector('article h1') && location.href",
                             f"the page of {title!r}", GENEROUS)
            self.assertTrue(url.endswith(".html"), url)
            self.assertNotIn("Index of", self.driver.title)

    def test_searchFindsPages(self):
        """A search for a word of the protocol lists pages, and the first
        result opens one."""
        folder = self.built[0]
        if not (folder / "site" / "assets" / "javascripts" / "iframe-worker-shim.js").exists():
            raise SkipTest("the site's search from disk needs the iframe-worker shim, "
                           "which docs/hooks/offline_search.py fetches with npm: "
                           "install npm (apt-get install npm)")
        self.driver.execute_script(
            "const query = document.querySelector("
            "'input[data-md-component=search-query]'); query.focus();"
            "query.value = 'netstring';"
            "query.dispatchEvent(new Event('input', {bubbles: true}));"
            "query.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true}));")
        found = untilShown(self, "return document.querySelectorAll("
                           "'.md-search-result__item').length", "search results",
                           GENEROUS)
        self.assertGreater(found, 0)
        self.driver.execute_script(
            "document.querySelector('.md-search-result__item a').click()")
        url = untilShown(self, "return document.querySelector('article h1') && "
                         "location.href.includes('.html') && location.href",
                         "the first result's page", GENEROUS)
        self.assertIn(".html", url)
