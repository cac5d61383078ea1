"""Sphinx configuration for wdecay's documentation (built in the tests with warnings as errors)."""

project = "wdecay"
author = "The wdecay developers"
copyright = "2026, The wdecay developers"
# Math is typeset by MathJax 3 shipped with the docs, not loaded from a CDN, so the
# pages read offline: "sphinx-mathjax-offline" (in the dev extra) copies MathJax
# into _static/mathjax and points mathjax_path at it.
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax",
              "sphinx-mathjax-offline"]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []
suppress_warnings = ["ref.python"]  # same-named classes (Cost monitor, Cost family)


def _escape_bars(app, what, name, obj, options, lines):
    """Docstrings write |w| as plain text (readable in help()); keep RST from reading substitutions.

    Bars are escaped except inside ``literals`` and inside literal blocks (after ``::``).
    """
    import re

    in_block, block_indent = False, 0
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if in_block and line.strip() and indent <= block_indent:
            in_block = False
        if not in_block and "|" in line:
            parts = re.split(r"(``.*?``)", line)
            lines[i] = "".join(p if p.startswith("``") else p.replace("|", r"\|") for p in parts)
        if line.rstrip().endswith("::"):
            in_block, block_indent = True, indent


def setup(app):
    app.connect("autodoc-process-docstring", _escape_bars)
