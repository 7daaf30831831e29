from .cli import main

if __name__ == "__main__":  # not when a spawned pool process imports it
    main()
