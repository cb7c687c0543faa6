import sys

from docfoundry.cli import main

sys.exit(main())
