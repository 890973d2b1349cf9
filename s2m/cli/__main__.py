from s2m.cli import main

main()
