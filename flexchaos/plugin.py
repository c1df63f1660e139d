"""The flexchaos pytest plugin (registered as a pytest11 entry point).

Being built: options, fixtures and the experiment marker arrive with the game-day issue.
"""
