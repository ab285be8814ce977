#pragma once

#include <QMetaObject>
#include <QObject>
#include <QPointer>
#include <QThread>

#include <memory>
#include <utility>

namespace tunebench {

// Runs work() on a new thread, then done(result) on owner's thread (skipped when owner is gone).
// `slot` holds the thread: a previous job's thread is waited for first (its result was already
// delivered or is about to be), and owners wait for `slot` in their destructors. work returns a
// std::shared_ptr and must not throw.
template <typename Work, typename Done>
void runInBackground(QObject *owner, QPointer<QThread> &slot, Work work, Done done)
{
  if (slot)
    slot->wait();
  QPointer<QObject> guard(owner);
  QThread *thread = QThread::create([guard, work = std::move(work), done = std::move(done)]() mutable {
    auto result = work();
    if (guard)
      QMetaObject::invokeMethod(guard.data(), [guard, result, done]() mutable {
        if (guard)
          done(result);
      }, Qt::QueuedConnection);
  });
  QObject::connect(thread, &QThread::finished, thread, &QObject::deleteLater);
  slot = thread;
  thread->start();
}

} // namespace tunebench
