import sys

from briefbot.bot.cli import main

sys.exit(main())
