"""The article pipeline: fetch -> render -> publish (a chain), and editions (a chord)."""
from celery import chain, chord, group, shared_task
from celery.utils.log import get_task_logger

from newsroom import effects

logger = get_task_logger(__name__)


class SourceUnavailable(Exception):
    """The wire service did not answer; worth another try."""


@shared_task(bind=True, autoretry_for=(SourceUnavailable,), max_retries=3, default_retry_delay=0)
def fetch(self, slug, fail_times=0):
    attempt = self.request.retries
    effects.record(f"fetch:{slug}", attempt)
    if attempt < fail_times:
        logger.info("source unavailable for %s (attempt %s)", slug, attempt)
        raise SourceUnavailable(slug)
    return {"slug": slug, "body": f"the story of {slug}", "attempts": attempt + 1}


@shared_task
def render(article):
    return dict(article, html=f"<p>{article['body']}</p>")


@shared_task
def publish(article, channel="web"):
    effects.record("published", article["slug"])
    return f"{article['slug']}@{channel}"


@shared_task
def word_count(text):
    return len(text.split())


@shared_task
def total_words(counts):
    return sum(counts)


@shared_task(bind=True, max_retries=2)
def moderate(self, slug, verdicts):
    """Retries itself until the moderation service gives a verdict (``verdicts`` per attempt)."""
    verdict = verdicts[self.request.retries]
    if verdict == "later":
        raise self.retry(countdown=0)
    if verdict == "reject":
        raise ValueError(f"{slug} rejected")
    return verdict


def publication(slug, fail_times=0):
    """The whole pipeline for one article, as one signature."""
    return chain(fetch.s(slug, fail_times), render.s(), publish.s(channel="web"))


def edition(texts):
    """Count the words of every text in parallel, then add them up."""
    return chord(group(word_count.s(text) for text in texts), total_words.s())
