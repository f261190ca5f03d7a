"""`python -m aos_core` runs the `aos` command line."""

from aos_core.cli import main

if __name__ == "__main__":
    main()
