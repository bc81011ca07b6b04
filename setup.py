from setuptools import find_packages, setup

#: What `make docs` builds the site with (mkdocs.yml).
DOCS = ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26",
        "mkdocs-include-markdown-plugin>=6", "mdx-truly-sane-lists>=1.3"]

setup(
    name="twisted-bazaar",
    version="0.1.0",
    description="A peer-to-peer market on Twisted: tracker, buyers and sellers "
    "as twistd daemons.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["twisted_bazaar", "twisted_bazaar.*"])
    + ["twisted.plugins"],
    package_data={"twisted_bazaar.web": ["static/*"]},
    install_requires=["twisted>=22.10", "attrs>=22.1",
                      "cryptography>=41", "prometheus_client>=0.16",
                      # Ed25519 signing through libsodium (identity/sodium.py)
                      "pynacl>=1.5",
                      # the web view's graph: vis-network's script, as pyvis
                      # ships it (twisted_bazaar/web/graphlib.py)
                      "pyvis>=0.3.2",
                      # QUIC over UDP, sans-IO, its packet core in Rust,
                      # driven from Twisted (transports/quic/); stack.py extends its
                      # connection's internals, hence the minor version held
                      "qh3>=2.1,<2.2",
                      # WebSocket (RFC 6455) on Twisted, its protocol under
                      # the byte stream of transports/websocket/
                      "autobahn>=24.4"],
    extras_require={
        "test": ["pytest>=7", "pytest-twisted>=1.14", "hypothesis>=6",
                 # make test runs the suite in parallel (-n)
                 "pytest-xdist>=3.5",
                 # a second QUIC stack, pure Python, whose internals the
                 # tests bend to play a peer that breaks QUIC's rules
                 "aioquic>=1.2",
                 "selenium>=4.10", "twisted[tls]>=22.10", "import-linter>=2.1",
                 # the plot's tests (tests/sim/test_plot.py) run in CI too
                 "matplotlib>=3.5",
                 # the sweep's tests (tests/cli/test_sweep.py) start a local cluster
                 "distributed>=2024.1",
                 # the docs site's build (tests/test_docs_site.py)
                 *DOCS],
        "tls": ["twisted[tls]>=22.10"],
        "plot": ["matplotlib>=3.5"],
        "sweep": ["distributed>=2024.1"],
        "docs": DOCS,
    },
    entry_points={
        "console_scripts": [
            "bazaar-sim = twisted_bazaar.cli.simcommand:main",
            "bazaar-ledger = twisted_bazaar.cli.ledger:main",
            "bazaar = twisted_bazaar.cli.arguments:main",
        ],
    },
)
