"""The shop's task modules (listed in the app's ``include``)."""
