"""One module per `flexchaos` sub-command: HELP, add_arguments(parser) and run(args)."""
