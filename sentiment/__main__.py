"""``python -m sentiment COMMAND``: see `sentiment.cli`."""

import sys

from sentiment.cli import main

sys.exit(main())
