"""``python -m wdecay.datasets``: download and check Nielsen's mnist.pkl.gz (see ``--help``)."""

from .download import main

raise SystemExit(main())
