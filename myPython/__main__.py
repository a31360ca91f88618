import sys

from myPython.apps.cli import main

sys.exit(main())
