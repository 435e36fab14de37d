"""`python -m console`: the console server."""

from console.server import main

main()
