"""Configuration: the rule table every setting is checked with (pure) and the files it is read from."""
