from nerbench.cli import main

main()
