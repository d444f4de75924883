"""Assembly: ffmpeg encode/concat/mux, subtitles, chapters, timelines, storyboards."""
