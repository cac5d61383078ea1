"""The docs typeset their math offline: MathJax ships with the build, no script comes from a CDN.

A one-page project is built with the real ``docs/conf.py`` (fast; the full
build is tested in test_docs.py), then opened in headless Chromium with
every host unresolvable: the math must come out typeset.
"""

import pathlib
import re
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # a Sphinx build: needs the docs (or dev) extra

DOCS = pathlib.Path(__file__).parents[1] / "docs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    pytest.importorskip("sphinx")
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("html")
    (src / "index.rst").write_text(
        "Math\n====\n\nThe scale :math:`1/\\sqrt{n}` and\n\n.. math::\n\n"
        "   w \\leftarrow \\left(1 - \\frac{\\eta\\lambda}{n}\\right) w\n")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", "-c", str(DOCS),
                           str(src), str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def test_math_script_is_local_and_shipped(built):
    page = (built / "index.html").read_text()
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", page)
    assert not [s for s in scripts if re.match(r"(https?:)?//", s)], scripts
    mathjax = [s for s in scripts if "mathjax" in s.lower()]
    assert mathjax, scripts
    for s in mathjax:
        assert (built / s.split("?")[0]).is_file(), s


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: "
                    "offline math is not checked in a browser")
def test_math_is_typeset_with_the_network_off(built):
    proc = subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
                           "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=5000",
                           "--dump-dom", (built / "index.html").as_uri()],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("<mjx-container") == 2, proc.stdout[-3000:]
