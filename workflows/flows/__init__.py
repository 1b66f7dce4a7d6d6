"""One evaluation as a FireWorks workflow: build and submit it, run it in-process, screen a whole
space.
"""
