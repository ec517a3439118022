from canaryctl.cli.main import main

main()
