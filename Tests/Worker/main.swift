import LogCache
