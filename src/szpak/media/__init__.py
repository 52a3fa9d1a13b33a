"""Media attachments below the domain: the file store (``storage``), image processing
with Pillow (``images``) and video/audio through ffmpeg when it is installed (``av``).

Nothing here touches the database; ``domain/media.py`` does that.
"""
