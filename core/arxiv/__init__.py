"""Reading arXiv: the daily announcement feed and the export API."""
