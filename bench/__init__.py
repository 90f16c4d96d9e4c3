"""`make bench`: the speed goals of the issues, measured on this machine."""
