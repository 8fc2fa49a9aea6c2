from pono_gan.evaluate.cli import main

main()
