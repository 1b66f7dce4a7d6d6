"""Running on clusters: queue resources, cluster configuration and checks, FireWorks offline
rockets.
"""
