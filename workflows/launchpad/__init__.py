"""The FireWorks LaunchPad tavbo uses: opening it (MongoDB or embedded), its hooks, config and job
stores.
"""
